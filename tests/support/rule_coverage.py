"""Every rule a published mart applies, where a reader finds it, how the sample exercises it, and how to count it.

The one source of truth for docs/rule-coverage.md (rendered by :func:`render_markdown`; tests/unit/test_rule_coverage.py
checks the file matches) and for tests/integration/test_rule_coverage_pipeline.py, which runs every ``query`` on the
session's published sample and fails on a rule with no occurrence. A rule the generated sample cannot exercise by
design names the test that does (``tested_elsewhere``: ``path::test name``); the unit test checks that test exists.

Regenerate the doc after editing this list:  PYTHONPATH=$PWD .venv/bin/python -m tests.support.rule_coverage
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = REPO_ROOT / "docs" / "rule-coverage.md"

# Where a query runs. marts: the published marts.duckdb (tables in main). warehouse: the working DuckDB file's
# tables (intermediate, marts, and the incremental staging tables; the staging views read the lake by paths
# relative to the run's directory, so they are not queried there).
# lake: views over the lake's Parquet (LAKE_VIEWS).
DATABASES = ("marts", "warehouse", "lake")
# view name -> lake-relative glob of its Parquet files
LAKE_VIEWS = {
    "billing_invoices": "billing/invoices/*.parquet",
    "marketing_spend": "marketing/spend/*.parquet",
    "quarantine": "_quarantine/*/*.parquet",
}


def lake_view_sql(lake_dir: Path) -> list[str]:
    """CREATE VIEW statements for LAKE_VIEWS under ``lake_dir``; quarantine(source, reason, ...) names its source."""
    statements = []
    for view, glob in LAKE_VIEWS.items():
        files = str(lake_dir / glob).replace("'", "''")  # a view takes no parameters
        source = ", regexp_extract(filename, '_quarantine/([^/]+)/', 1) as source" if view == "quarantine" else ""
        reader = f"read_parquet('{files}', union_by_name = true, filename = true)"
        statements.append(f"create view {view} as select *{source} from {reader}")
    return statements


FINANCE_YML = "dbt_project/models/marts/finance/_finance__models.yml"
PORTFOLIO_YML = "dbt_project/models/marts/portfolio/_portfolio__models.yml"
FEEDBACK_YML = "dbt_project/models/marts/feedback/_feedback__models.yml"
DELIVERY_YML = "dbt_project/models/marts/delivery/_delivery__models.yml"
PRODUCT_YML = "dbt_project/models/marts/product/_product__models.yml"
PORTFOLIO_SCORES_YML = "dbt_project/models/marts/portfolio/_portfolio_scoring__sources.yml"
FINANCE_UNIT_TESTS = "dbt_project/models/marts/finance/_finance__unit_tests.yml"
PORTFOLIO_UNIT_TESTS = "dbt_project/models/marts/portfolio/_portfolio__unit_tests.yml"
DELIVERY_UNIT_TESTS = "dbt_project/models/marts/delivery/_delivery__unit_tests.yml"
PEER_FUNNEL_TESTS = "dbt_project/models/marts/product/_funnel_conversion__peer_unit_tests.yml"


@dataclass(frozen=True)
class Rule:
    rule_id: str  # family.value, unique
    family: str
    rule: str  # what the rule decides, in a reader's words
    documented: str  # where a reader finds it: model.column (yml file) or a README / docs section
    sample: str  # how the generated sample exercises it: generator function and the planted truth
    query: str | None = None  # SELECT returning one count; None when tested_elsewhere
    database: str = "marts"
    tested_elsewhere: str | None = None  # path::test name, for a rule the sample cannot exercise by design


def _count(table: str, where: str) -> str:
    return f"select count(*) from {table} where {where}"


def _quarantined(source: str, like: str) -> str:
    return f"select count(*) from quarantine where source = '{source}' and reason like '{like}'"


_ACQ = "fct_customer_acquisition"
_ACQ_DOC = f"{_ACQ}.attribution_rule ({FINANCE_YML})"
_MRR_DOC = f"fct_mrr.movement ({FINANCE_YML})"
_MRR_SAMPLE = "billing._Simulator.lifecycle / change_plan; truth billing.mrr_movements_usd_by_month"
_CAC_DOC = f"fct_cac.cac_status, fct_unit_economics.cac / payback_months ({FINANCE_YML})"
_OUT_DOC = f"fct_initiative_outcomes.outcome_status ({PORTFOLIO_YML})"
_KANO_DOC = f"fct_kano_features.dominant_category ({FEEDBACK_YML})"
_KANO_SAMPLE = "feedback.generate_feedback Kano answers; truth feedback Kano categories per feature"
_RICE_DOC = f"fct_portfolio_scores.*_source ({PORTFOLIO_SCORES_YML}; portfolio/scoring.py)"
_RICE_SAMPLE = "jira.generate_jira ideas and initiatives + analytics.PLANTED_OUTCOMES"
_JIRA_DOC = f"fct_issue_cycle_times.status_category ({DELIVERY_YML}); int_jira_statuses_categorised.category_source"
_JIRA_SAMPLE = "jira.generate_jira workflow statuses (REST statusCategory, UI CSV in 4 locales)"
_FX_DOC = "dbt_project/macros/finance.sql to_reporting_currency; README.md 'Marts (published)' finance conventions"
_Q_DOC = "README.md 'Sources' and 'Data directory' (the quarantine keeps each row's reason)"

RULES: tuple[Rule, ...] = (
    # ---- acquisition attribution (fct_customer_acquisition)
    Rule(
        "attribution.billing_metadata",
        "Acquisition attribution",
        "The billing customer's acquisition_channel metadata gives the channel.",
        _ACQ_DOC,
        "billing._Simulator.customer draws CUSTOMER_CHANNELS; truth billing.new_paying_customers_by_channel",
        _count(_ACQ, "attribution_rule = 'billing_metadata'"),
    ),
    Rule(
        "attribution.billing_metadata_over_utm",
        "Acquisition attribution",
        "Billing metadata beats a first-touch UTM that came before the acquisition.",
        _ACQ_DOC,
        "analytics.planted_utm_plan on customers with metadata; truth billing.metadata_over_utm_customers",
        _count(_ACQ, "attribution_rule = 'billing_metadata' and first_touch_utm_source is not null"),
    ),
    Rule(
        "attribution.first_touch_utm",
        "Acquisition attribution",
        "Without metadata, the earliest UTM touch at or before acquisition (Mixpanel event properties, Amplitude "
        "initial_utm_* / utm_* user properties) gives the channel.",
        _ACQ_DOC,
        "analytics.planted_utm_plan; truth billing.first_touch_utm_customers (customer -> channel)",
        _count(_ACQ, "attribution_rule = 'first_touch_utm'"),
    ),
    Rule(
        "attribution.first_touch_not_overridden",
        "Acquisition attribution",
        "A later UTM touch (the linkedin retargeting campaign) never overrides the first.",
        _ACQ_DOC,
        "analytics.planted_utm_plan kind first_visit_then_other; UTM_LATER_CAMPAIGN is never a first touch",
        # Customers whose published first touch has a later touch of another source before acquisition.
        "select count(*) from marts.fct_customer_acquisition as acquisitions where exists (select 1"
        " from intermediate.int_events_sessionized as events inner join staging.stg_analytics__events as staged"
        " on events.event_id = staged.event_id where events.resolved_user_id = acquisitions.user_id"
        " and events.event_at > acquisitions.first_touch_at and events.event_at <= acquisitions.acquired_at"
        " and coalesce(json_extract_string(staged.properties, '$.utm_source'),"
        " json_extract_string(staged.user_properties, '$.utm_source')) != acquisitions.first_touch_utm_source)",
        database="warehouse",
    ),
    Rule(
        "attribution.unattributed",
        "Acquisition attribution",
        "Neither metadata nor a UTM touch before acquisition: 'unattributed'.",
        _ACQ_DOC,
        "billing CUSTOMER_CHANNELS 'unattributed' without a planted touch",
        _count(_ACQ, "attribution_rule = 'unattributed'"),
    ),
    # ---- MRR movements (fct_mrr)
    *(
        Rule(
            f"mrr_movement.{movement}",
            "MRR movement",
            text,
            _MRR_DOC,
            _MRR_SAMPLE,
            _count("fct_mrr", f"movement = '{movement}'"),
        )
        for movement, text in (
            ("new", "MRR above 0 for the first time."),
            ("expansion", "MRR up from a positive MRR (upgrade proration)."),
            ("contraction", "MRR down but still positive (downgrade)."),
            ("churn", "MRR from positive to 0 (cancelled at period end)."),
            ("reactivation", "MRR above 0 again after a churn."),
            ("unchanged", "Same MRR as the previous month end."),
        )
    ),
    # ---- CAC conventions (fct_cac, fct_unit_economics)
    Rule(
        "cac_status.measured",
        "CAC convention",
        "Positive net spend and new customers: CAC = spend / customers.",
        _CAC_DOC,
        "billing._plan_spend: paid_search spend = 250 USD per new customer; truth billing.planted_cac_usd",
        _count("fct_cac", "cac_status = 'measured' and cac is not null"),
    ),
    Rule(
        "cac_status.no_customers",
        "CAC convention",
        "Spend and no new customer: CAC NULL (not infinite, not 0).",
        _CAC_DOC,
        "billing EVENTS spend (no customer has channel events); truth billing.cac_usd_by_channel.events None",
        _count("fct_cac", "cac_status = 'no_customers' and cac is null"),
    ),
    Rule(
        "cac_status.no_spend",
        "CAC convention",
        "Customers and no net spend (organic, referral, unattributed): CAC NULL, so payback and LTV:CAC are NULL and "
        "never flagged ok.",
        _CAC_DOC,
        "billing CUSTOMER_CHANNELS organic / referral / unattributed have no spend file",
        _count("fct_unit_economics", "cac_status = 'no_spend' and cac is null and payback_ok is null"),
    ),
    Rule(
        "cac_status.net_credit",
        "CAC convention",
        "Credits exceed the month's spend (net spend < 0): CAC NULL.",
        _CAC_DOC,
        "not in the sample: its one planted credit (billing.SALES_CREDIT_MINOR) nets to a positive spend",
        tested_elsewhere=f"{FINANCE_UNIT_TESTS}::acquisition_costs_net_credits_and_name_every_cac_convention",
    ),
    Rule(
        "spend.credit_netted",
        "CAC convention",
        "A negative spend line (credit, adjustment) is loaded and netted.",
        f"fct_cac.credits ({FINANCE_YML}); README.md 'Marts (published)' finance conventions",
        "billing._plan_spend planted credit; truth billing.planted_spend_credit",
        _count("fct_cac", "credits < 0"),
    ),
    # ---- currency paths
    Rule(
        "currency.reporting",
        "Currency path",
        "Amounts in the reporting currency (USD) are taken at rate 1.",
        _FX_DOC,
        "billing CURRENCY_WEIGHTS usd; truth billing.customers_by_currency",
        _count("billing_invoices", "upper(currency) = 'USD'"),
        database="lake",
    ),
    Rule(
        "currency.billing_minor_units_converted",
        "Currency path",
        "Billing minor units in another currency convert at the configured rate (EUR, GBP).",
        _FX_DOC,
        "billing CURRENCY_WEIGHTS eur / gbp (EUR through the Stripe API); truth billing.fx_rates",
        _count("billing_invoices", "upper(currency) in ('EUR', 'GBP')"),
        database="lake",
    ),
    Rule(
        "currency.spend_major_units_converted",
        "Currency path",
        "Marketing spend in major units in another currency converts at the configured rate.",
        _FX_DOC,
        "billing._plan_spend other/*.csv in EUR and GBP; truth billing.spend_native_by_channel",
        _count("marketing_spend", "upper(currency) in ('EUR', 'GBP')"),
        database="lake",
    ),
    Rule(
        "currency.spend_without_rate_quarantined",
        "Currency path",
        "A spend row in a currency with no configured rate is quarantined, never converted to NULL.",
        _Q_DOC,
        "billing._plan_spend bad row kind unknown_currency (XYZ); truth billing.bad_rows",
        _quarantined("marketing", "no FX rate for currency %"),
        database="lake",
    ),
    Rule(
        "currency.billing_without_rate_fails",
        "Currency path",
        "A billing amount in a currency with no configured rate fails the build by name.",
        _FX_DOC,
        "not in the sample: it would block the run by design",
        tested_elsewhere="tests/dbt/test_dbt_finance.py::test_a_currency_without_a_rate_fails_the_build_by_name",
    ),
    # ---- initiative outcomes
    Rule(
        "outcome_status.final",
        "Outcome status",
        "Shipped, both windows elapsed: the measured effect is final.",
        _OUT_DOC,
        "analytics.PLANTED_OUTCOMES PROD-1 (lift) and PROD-2 (none); truth analytics.outcomes",
        _count("fct_initiative_outcomes", "outcome_status = 'final'"),
    ),
    Rule(
        "outcome_status.not_shipped",
        "Outcome status",
        "Not shipped: no windows, no effect.",
        _OUT_DOC,
        "jira.generate_jira PROD-3 in progress; truth jira.initiatives",
        _count("fct_initiative_outcomes", "outcome_status = 'not_shipped'"),
    ),
    Rule(
        "outcome_status.provisional",
        "Outcome status",
        "The after window has not elapsed yet.",
        _OUT_DOC,
        "not in the sample: both shipped initiatives ship early enough for full windows",
        tested_elsewhere=f"{PORTFOLIO_UNIT_TESTS}::initiative_outcomes_two_proportion_interval_and_statuses",
    ),
    Rule(
        "outcome_status.insufficient_data",
        "Outcome status",
        "Too few entries in a window to test.",
        _OUT_DOC,
        "not in the sample: the sample is sized for a z of about 4.5",
        tested_elsewhere=f"{PORTFOLIO_UNIT_TESTS}::initiative_outcomes_two_proportion_interval_and_statuses",
    ),
    Rule(
        "outcome_test.two_proportion_z",
        "Outcome status",
        "funnel_step and retention targets: two-proportion z.",
        f"fct_initiative_outcomes.test_method ({PORTFOLIO_YML})",
        "analytics.PLANTED_OUTCOMES",
        _count("fct_initiative_outcomes", "test_method = 'two_proportion_z'"),
    ),
    Rule(
        "outcome_test.nps_difference_z",
        "Outcome status",
        "nps targets: NPS difference z from the multinomial.",
        f"fct_initiative_outcomes.test_method ({PORTFOLIO_YML})",
        "not in the sample: no initiative targets NPS",
        tested_elsewhere=f"{PORTFOLIO_UNIT_TESTS}::initiative_outcomes_nps_difference_from_the_multinomial",
    ),
    Rule(
        "outcome_test.welch_t",
        "Outcome status",
        "revenue targets: Welch's t on per-user revenue.",
        f"fct_initiative_outcomes.test_method ({PORTFOLIO_YML})",
        "not in the sample: no initiative targets revenue",
        tested_elsewhere=f"{PORTFOLIO_UNIT_TESTS}::initiative_outcomes_nps_difference_from_the_multinomial",
    ),
    *(
        Rule(
            f"outcome_target.{target}",
            "Outcome status",
            f"An initiative whose target metric is a {target.replace('_', ' ')}.",
            f"fct_initiative_outcomes.target_metric_type ({PORTFOLIO_YML})",
            "config/pmw.yml initiatives: PROD-1 sharing step 2, PROD-2 activation step 2, PROD-3 day-7 retention",
            _count("fct_initiative_outcomes", f"target_metric_type = '{target}'"),
        )
        for target in ("funnel_step", "retention")
    ),
    *(
        Rule(
            f"outcome_target.{target}",
            "Outcome status",
            f"An initiative whose target metric is {target}.",
            f"fct_initiative_outcomes.target_metric_type ({PORTFOLIO_YML})",
            f"not in the sample: no initiative targets {target}",
            tested_elsewhere=f"{PORTFOLIO_UNIT_TESTS}::initiative_outcomes_nps_difference_from_the_multinomial",
        )
        for target in ("nps", "revenue")
    ),
    # ---- Kano
    *(
        Rule(
            f"kano.{code}",
            "Kano category",
            f"An answer pair classified {name} (evaluation table).",
            _KANO_DOC,
            _KANO_SAMPLE,
            f"select coalesce(sum({code.lower()}_count), 0) from fct_kano_features",
        )
        for code, name in (
            ("A", "attractive"),
            ("O", "one-dimensional"),
            ("M", "must-be"),
            ("I", "indifferent"),
            ("R", "reverse"),
            ("Q", "questionable"),
        )
    ),
    Rule(
        "kano.dominant_ties",
        "Kano category",
        "The dominant category of a feature, ties broken M > O > A > I.",
        _KANO_DOC,
        _KANO_SAMPLE,
        _count("fct_kano_features", "dominant_category is not null"),
    ),
    # ---- RICE input sources (fct_portfolio_scores)
    *(
        Rule(
            f"rice.{column}.{value}",
            "RICE input source",
            text,
            _RICE_DOC,
            _RICE_SAMPLE,
            _count("fct_portfolio_scores", f"{column} like '{value}'"),
        )
        for column, value, text in (
            ("reach_source", "measured_adoption", "Reach of a shipped initiative from its measured adoption."),
            ("reach_source", "segment_size:%", "Reach of an unshipped initiative from its target segment size."),
            ("reach_source", "jpd_field", "Reach of an idea from its Jira Product Discovery field."),
            ("impact_source", "measured_effect", "Impact from a significant measured effect."),
            ("impact_source", "measured_effect:not_significant", "A non-significant effect scores the minimum."),
            ("impact_source", "jpd_field", "Impact typed in Jira Product Discovery."),
            ("confidence_source", "measured_effect", "Confidence 1.0 from a measured effect."),
            ("confidence_source", "feedback_volume", "Confidence 0.8 from feature-request volume."),
            ("confidence_source", "typed_in", "Confidence 0.5 otherwise."),
            ("effort_source", "jira_story_points", "Effort from the initiative's story points."),
            ("effort_source", "jpd_effort", "Effort from the idea's JPD field."),
        )
    ),
    Rule(
        "rice.effort_missing_not_ranked",
        "RICE input source",
        "No (or zero) effort: not scored, with a note.",
        _RICE_DOC,
        "jira.generate_jira IDEA-4 without effort, IDEA-5 with effort 0",
        _count("fct_portfolio_scores", "scoring_note is not null and effort_source is null"),
    ),
    Rule(
        "rice.effort_source.jira_time_tracking",
        "RICE input source",
        "Effort from Jira time tracking.",
        _RICE_DOC,
        "not in the sample: its initiatives are estimated in story points",
        tested_elsewhere="tests/unit/test_portfolio.py::test_each_rule_with_its_source",
    ),
    Rule(
        "rice.impact_source.kano",
        "RICE input source",
        "Impact of an idea from its feature's Kano category.",
        _RICE_DOC,
        "not in the sample: every idea with a Kano feature has a typed impact",
        tested_elsewhere="tests/unit/test_portfolio.py::test_each_rule_with_its_source",
    ),
    # ---- Jira status categories
    *(
        Rule(
            f"jira.status_category.{category}",
            "Jira status category",
            text,
            _JIRA_DOC,
            _JIRA_SAMPLE,
            _count("fct_issue_cycle_times", f"status_category = '{category}'"),
        )
        for category, text in (
            ("new", "To Do-like statuses."),
            ("indeterminate", "In-progress statuses."),
            ("done", "Done statuses."),
        )
    ),
    *(
        Rule(
            f"jira.category_source.{source}",
            "Jira status category",
            text,
            _JIRA_DOC,
            _JIRA_SAMPLE,
            _count("intermediate.int_jira_statuses_categorised", f"category_source = '{source}'"),
            database="warehouse",
        )
        for source, text in (("catalog", "The category from the REST status catalog."),)
    ),
    Rule(
        "jira.category_source.export",
        "Jira status category",
        "The category an issue export states, for a status the REST catalog does not list.",
        _JIRA_DOC,
        "not in the sample: its REST status catalog lists every status the exports use",
        tested_elsewhere="dbt_project/models/intermediate/delivery/_delivery__unit_tests.yml"
        "::status_categories_from_exports_with_overrides_winning",
    ),
    Rule(
        "jira.category_source.override",
        "Jira status category",
        "jira.status_category_overrides in the config.",
        _JIRA_DOC,
        "not in the sample: config/pmw.yml overrides nothing",
        tested_elsewhere="dbt_project/models/intermediate/delivery/_delivery__unit_tests.yml"
        "::status_categories_from_exports_with_overrides_winning",
    ),
    Rule(
        "delivery.ship_date.initiative_done",
        "Jira status category",
        "Ship date: the initiative's move to done.",
        f"fct_initiative_delivery.ship_date_rule ({DELIVERY_YML})",
        "jira.generate_jira PROD-1, PROD-2 shipped",
        _count("fct_initiative_delivery", "ship_date_rule = 'initiative_done'"),
    ),
    Rule(
        "delivery.ship_date.last_child_done",
        "Jira status category",
        "Ship date: the last child's done, when the initiative itself never moved.",
        f"fct_initiative_delivery.ship_date_rule ({DELIVERY_YML})",
        "not in the sample: its initiatives move to done",
        tested_elsewhere=f"{DELIVERY_UNIT_TESTS}::ship_date_by_the_initiative_move_or_by_its_last_child",
    ),
    # ---- funnels
    *(
        Rule(
            f"funnel.entry_mode.{mode}",
            "Funnel",
            text,
            f"fct_funnel_conversion.entry_mode ({PRODUCT_YML})",
            "config/pmw.yml funnels over analytics journeys; truth analytics.activation",
            _count("fct_funnel_conversion", f"entry_mode = '{mode}'"),
        )
        for mode, text in (
            ("first_entry", "The user's first step-1 event starts the path."),
            ("any_entry", "Any step-1 event may start the path."),
        )
    ),
    Rule(
        "funnel.simultaneous_events.same_second",
        "Funnel",
        "Events in the same second may fill consecutive steps (the default: Mixpanel's whole-second times).",
        "docs/funnels.md; config/pmw.yml funnels",
        "config/pmw.yml: every funnel keeps the default",
        tested_elsewhere=f"{PEER_FUNNEL_TESTS}::funnel_peer_cases_posthog_same_time_and_windows",
    ),
    Rule(
        "funnel.simultaneous_events.same_timestamp",
        "Funnel",
        "Equal timestamps may fill consecutive steps.",
        "docs/funnels.md",
        "not in the sample: no funnel is configured so",
        tested_elsewhere=f"{PEER_FUNNEL_TESTS}::funnel_peer_cases_clickhouse_equal_timestamps",
    ),
    Rule(
        "funnel.simultaneous_events.strict",
        "Funnel",
        "Each step strictly later than the previous one.",
        "docs/funnels.md",
        "not in the sample: no funnel is configured so",
        tested_elsewhere=f"{PEER_FUNNEL_TESTS}::funnel_peer_cases_clickhouse_funnel_test",
    ),
    # ---- quarantine reasons planted by the sample
    *(
        Rule(
            f"quarantine.{source}.{key}",
            "Quarantine reason",
            f"{source}: {text}",
            _Q_DOC,
            sample,
            _quarantined(source, like),
            database="lake",
        )
        for source, key, text, like, sample in (
            (
                "analytics",
                "invalid_json",
                "a line that is not JSON",
                "invalid JSON%",
                "analytics._ExportWriter.finish planted mess; truth analytics.malformed",
            ),
            (
                "analytics",
                "missing_field",
                "a required field missing",
                "missing required field %",
                "analytics._ExportWriter.finish planted mess; truth analytics.malformed",
            ),
            (
                "analytics",
                "unparseable_time",
                "an unparseable event time",
                "unparseable %time%",
                "analytics._ExportWriter.finish planted mess; truth analytics.malformed",
            ),
            (
                "analytics",
                "vendor_trailer",
                "Mixpanel's 'terminated early' trailer",
                "vendor trailer%",
                "analytics._ExportWriter._finish_mixpanel; truth analytics.malformed",
            ),
            (
                "billing",
                "unknown_customer",
                "an invoice for a customer never exported",
                "unknown customer %",
                "billing._write_stripe; truth billing.bad_rows kind unknown_customer",
            ),
            (
                "marketing",
                "non_finite_spend",
                "NaN / Infinity spend",
                "non-finite spend %",
                "billing._plan_spend; truth billing.bad_rows kind non_finite_spend",
            ),
            (
                "marketing",
                "unparseable_spend",
                "a spend that is not a number",
                "unparseable spend %",
                "billing._plan_spend; truth billing.bad_rows kind bad_amount",
            ),
            (
                "feedback",
                "score_out_of_scale",
                "an NPS or CSAT score outside its scale",
                "%outside the %scale",
                "feedback.generate_feedback planted bad answers; truth feedback bad rows",
            ),
            (
                "feedback",
                "kano_unknown_answer",
                "a Kano answer matching no option",
                "%matches no Kano option",
                "feedback.generate_feedback planted bad answers; truth feedback bad rows",
            ),
            (
                "feedback",
                "unparseable_date",
                "an unparseable response date",
                "unparseable %",
                "feedback.generate_feedback planted bad answers; truth feedback bad rows",
            ),
        )
    ),
    *(
        Rule(
            f"quarantine.{source}.other_reasons",
            "Quarantine reason",
            f"{source}: every other row-level reason of ingest/{source}",
            _Q_DOC,
            "not in the sample: one planted bad row per reason family above",
            tested_elsewhere=where,
        )
        for source, where in (
            (
                "analytics",
                "tests/unit/test_ingest_analytics.py::test_amplitude_bad_lines_are_quarantined_with_member_line_and_reason",
            ),
            (
                "billing",
                "tests/unit/test_ingest_billing.py::test_dashboard_invoices_exact_amounts_unknown_customer_and_bad_amounts",
            ),
            ("marketing", "tests/unit/test_ingest_marketing.py::test_plain_csv_channel_map_and_every_bad_value"),
            (
                "feedback",
                "tests/unit/test_ingest_feedback.py::test_typeform_joined_multi_select_hidden_fields_and_bad_rows",
            ),
            ("jira", "tests/unit/test_ingest_jira.py::test_issues_missing_key_id_or_created_are_quarantined"),
        )
    ),
)


def rule_ids() -> list[str]:
    return [rule.rule_id for rule in RULES]


ROUNDING_RULE = """\
## Rounding: exact arithmetic, rounded once

Money is DECIMAL, never a float. Amounts are converted to the reporting currency once (macros/finance.sql
`to_reporting_currency`, DECIMAL(38,10)); intermediate models (`int_customer_revenue_monthly`,
`int_customer_mrr_monthly`, `int_acquisition_costs_monthly`) keep those exact values, and every derived metric
(MRR sums, ARPA, churn, predicted LTV, CAC, LTV:CAC, payback, cohort LTV) is computed from them: sums first, one
division (`divide_decimal`, 10 decimals) last. Rounding happens once, in the published column: money and ratios to
4 decimals, churn rates to 6, half away from zero (DuckDB's DECIMAL cast). Flags (`ltv_cac_ok`, `payback_ok`)
compare the unrounded values. fct_mrr publishes each customer's month-end MRR rounded once; its bridge columns
(`mrr_change`, the movement amounts) are differences of those published amounts, so the MRR waterfall reconciles
exactly, and no mart derives anything from them. The report shows the published columns, rounded only for display.
"""


def render_markdown() -> str:
    """docs/rule-coverage.md, generated from RULES."""
    lines = [
        "# Rule coverage",
        "",
        "<!-- Generated from tests/support/rule_coverage.py by `python -m tests.support.rule_coverage`; "
        "tests/unit/test_rule_coverage.py fails when this file and the registry differ. -->",
        "",
        "Every rule a published mart applies: where a reader finds it, how the generated default sample",
        "(`pmw generate`, sample_generator/) exercises it with a planted truth, and the query that counts its",
        "occurrences. tests/integration/test_rule_coverage_pipeline.py runs each query on the session's published",
        "sample and fails on a rule with none. Rules the sample cannot exercise by design name the test that does.",
        "Databases: marts = the published marts.duckdb; warehouse = the working DuckDB file's tables; lake = views",
        "over the lake's Parquet: billing_invoices, marketing_spend, quarantine (every quarantined row, with its",
        "source and reason).",
        "",
    ]
    family = None
    for rule in RULES:
        if rule.family != family:
            family = rule.family
            lines += [
                f"## {family}",
                "",
                "| rule | documented | sample exercises it | counted by |",
                "| --- | --- | --- | --- |",
            ]
        counted = (
            f"{rule.database}: `{rule.query}`" if rule.query is not None else f"tested in `{rule.tested_elsewhere}`"
        )
        cells = (f"`{rule.rule_id}`: {rule.rule}", rule.documented, rule.sample, counted)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        if rule is RULES[-1] or RULES[RULES.index(rule) + 1].family != family:
            lines.append("")
    lines.append(ROUNDING_RULE)
    return "\n".join(lines)


if __name__ == "__main__":
    DOC_PATH.write_text(render_markdown(), encoding="utf-8")
    print(f"wrote {DOC_PATH.relative_to(REPO_ROOT)} ({len(RULES)} rules)")
