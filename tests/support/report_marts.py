"""A small synthetic set of the marts report.html reads, with the published column names and types.

Covers every section (funnels, retention, NPS, unit economics, initiative outcomes / adoption / delivery, portfolio
and Kano mix) and plants hostile text (markup, quotes) where marts carry free text, so tests can check escaping.
"""

from __future__ import annotations

import duckdb

HOSTILE = "<script>alert('x')</script> & \"quotes\""
HOSTILE_SQL = HOSTILE.replace("'", "''")

# Every chart report.html draws from these tables (one per funnel x {latest, all}, per retention analysis, ...).
EXPECTED_CHARTS = (
    "funnel-0",
    "funnel-1",
    "retention-0",
    "nps-trend",
    "clv-cac",
    "initiative-outcomes-funnel_step",
    "initiative-outcomes-nps",
    "initiative-adoption",
    "delivery-slip",
    "portfolio-rice",
    "kano-mix",
)


def create_report_marts(con: duckdb.DuckDBPyConnection, schema: str = "main") -> None:
    """Create the tables in `schema` (which must exist) of an open read-write connection."""
    s = schema
    con.execute(f"""
        create or replace table {s}.fct_active_users as
        select d::date as activity_date, 100::bigint as dau, 300::bigint as wau, 600::bigint as mau,
               100 / 600.0 as stickiness, 10::bigint as new_users, 90::bigint as returning_users
        from range(date '2024-03-01', date '2024-05-16', interval 1 day) t(d)
    """)
    # Two funnels: monthly activation (March and April complete, May in progress) and weekly sharing.
    con.execute(f"""
        create or replace table {s}.fct_funnel_conversion as
        with steps(step_index, step_event, share) as (
            values (1, 'signed_up', 1.0), (2, 'onboarding_completed', 0.6), (3, 'report_created', 0.35)
        ), periods(period_start, base) as (
            values (date '2024-03-01', 1000), (date '2024-04-01', 1200), (date '2024-05-01', 400)
        ), activation as (
            select 'activation' as funnel_name, 'first_entry' as entry_mode, 604800::bigint as window_s,
                   'month' as period_grain, p.period_start, s.step_index, s.step_event,
                   round(p.base * s.share)::bigint as users, p.base as base, s.share
            from periods p cross join steps s
        ), sharing as (
            select 'sharing <b>' as funnel_name, 'any_entry' as entry_mode, 86400::bigint as window_s,
                   'week' as period_grain, (date '2024-04-01' + (7 * w)::integer)::date as period_start, s.step_index,
                   s.step_event, round(200 * s.share)::bigint as users, 200 as base, s.share
            from range(6) t(w) cross join (select * from steps where step_index <= 2) s
        ), unioned as (select * from activation union all select * from sharing)
        select md5(funnel_name || period_start || step_index) as funnel_step_id, funnel_name, entry_mode,
               window_s as conversion_window_seconds, period_grain, period_start,
               null::varchar as breakdown_property, b.breakdown_value, step_index, step_event,
               users,
               lag(users) over (partition by funnel_name, period_start, b.breakdown_value order by step_index)
                   as users_at_previous_step,
               base::bigint as users_at_first_step,
               1.0 as conversion_from_previous, share as conversion_from_first,
               null::double as median_seconds_from_previous, null::double as median_seconds_from_first
        from unioned cross join (values ('(all)'), ('iOS')) b(breakdown_value)
    """)
    con.execute(f"""
        update {s}.fct_funnel_conversion set users_at_previous_step = users where step_index = 1
    """)
    # A daily retention triangle: 10 cohorts, periods 0..9, a period complete when it has elapsed by 2024-05-16;
    # broken down by platform: '(all)' (50 users a cohort), ios (30, retaining better) and '(none)' (20).
    con.execute(f"""
        create or replace table {s}.fct_retention_cohorts as
        select md5(c::varchar || b.breakdown_value || p) as retention_cohort_id, 'core_action_daily' as retention_name,
               'day' as period_grain, 'signed_up' as start_event, 'report_created' as return_event,
               c::date as cohort_start, 'platform' as breakdown_property, b.breakdown_value,
               b.users::bigint as cohort_users, p::integer as period_number,
               (c::date + (p + 1)::integer <= date '2024-05-16') as is_complete,
               case when c::date + (p + 1)::integer <= date '2024-05-16'
                   then (b.users * b.rate / (p + 1))::bigint end as users_on_period,
               case when c::date + (p + 1)::integer <= date '2024-05-16'
                   then (b.users * 0.9 / (p + 1))::bigint end as users_on_or_after_period,
               case when c::date + (p + 1)::integer <= date '2024-05-16'
                   then (b.users * b.rate / (p + 1))::bigint / b.users end as retention_on_period,
               case when c::date + (p + 1)::integer <= date '2024-05-16'
                   then (b.users * 0.9 / (p + 1))::bigint / b.users end as retention_on_or_after_period
        from range(date '2024-05-06', date '2024-05-16', interval 1 day) t(c) cross join range(10) u(p)
        cross join (values ('(all)', 50, 0.8), ('ios', 30, 0.85), ('(none)', 20, 0.7)) b(breakdown_value, users, rate)
    """)
    con.execute(f"""
        create or replace table {s}.fct_nps as
        select (date '2023-06-01' + interval (m) month)::date as period_start, plan as segment_plan,
               '(all)' as segment_platform, 120::bigint as responses, 50::bigint as promoters,
               40::bigint as passives, 30::bigint as detractors, (10 + m * 2)::double as nps,
               (10 + m * 2 - 12)::double as nps_ci_low, (10 + m * 2 + 12)::double as nps_ci_high
        from range(12) t(m) cross join (values ('(all)'), ('pro')) p(plan)
        union all
        select (date '2023-06-01' + interval (m) month)::date, '(all)', 'ios', 60::bigint, 30::bigint, 20::bigint,
               10::bigint, (20 + m)::double, (20 + m - 15)::double, (20 + m + 15)::double
        from range(12) t(m)
    """)
    con.execute(f"""
        create or replace table {s}.fct_unit_economics as
        select md5(ch || m) as unit_economics_id, (date '2024-03-01' + interval (m) month)::date as month_start,
               ch as channel, ch = 'blended' as is_blended, 40::bigint as customers_at_start,
               41::bigint as active_customers, 1::bigint as churned_customers, 3::bigint as new_paying_customers,
               4100.0::decimal(18,4) as mrr, 100.0::decimal(18,4) as arpa, 0.78::decimal(9,4) as gross_margin,
               0.025::decimal(18,6) as monthly_churn, 0.025::decimal(18,6) as churn_for_prediction,
               ltv::decimal(18,4) as predicted_ltv, 900.0::decimal(18,4) as spend,
               -- the newest month has no spend yet: no CAC, so the report shows the month before it
               case when m < 2 then cac end::decimal(18,4) as cac,
               case when m < 2 then 'measured' else 'no_spend' end as cac_status,
               case when m < 2 then ltv / cac end::decimal(18,4) as ltv_to_cac,
               case when m < 2 then cac / 78.0 end::decimal(18,4) as payback_months,
               case when m < 2 then ltv / cac >= 3 end as ltv_cac_ok,
               case when m < 2 then cac / 78.0 <= 12 end as payback_ok,
               'USD' as reporting_currency
        from range(3) t(m)
        cross join (values ('paid_search', 3120.0, 700.0), ('paid_social', 3120.0, 1400.0),
                           ('blended', 3120.0, 950.0)) c(ch, ltv, cac)
        union all
        -- organic: no spend. The mart says so (cac_status) and has no CAC; the zeros and the "on target" flag here
        -- are what it published before it did, and the report must still not show them as a value or a good mark.
        select md5('organic' || m), (date '2024-03-01' + interval (m) month)::date, 'organic', false, 10, 10, 0, 4,
               1000.0, 100.0, 0.78, 0.025, 0.025, 3120.0, 0.0, 0.0, 'no_spend', null, 0.0, null, true, 'USD'
        from range(3) t(m)
        union all
        -- events: a credit larger than the month's spend (net_credit): no CAC, no ratio, no payback.
        select md5('events' || m), (date '2024-03-01' + interval (m) month)::date, 'events', false, 10, 10, 0, 1,
               1000.0, 100.0, 0.78, 0.025, 0.025, 3120.0, -150.0, null, 'net_credit', null, null, null, null, 'USD'
        from range(3) t(m)
    """)
    con.execute(f"""
        create or replace table {s}.fct_initiative_outcomes as
        select * from (values
            ('PROD-1', 'Share reports {HOSTILE_SQL}', true, timestamp '2024-04-10 12:00', date '2024-04-10',
             'funnel_step', 'sharing: step 2 report_shared', 14, timestamp '2024-03-27', timestamp '2024-04-24',
             800::bigint, 240::bigint, 0.30, 820::bigint, 290::bigint, 0.3537, 0.0537, 0.0090, 0.0984, 0.019,
             'two_proportion_z', true, true, 'final', 120::bigint, 40::bigint, 600::bigint, 0.2),
            ('PROD-2', 'Guided onboarding', true, timestamp '2024-05-08 09:00', date '2024-05-08',
             'funnel_step', 'activation: step 2 onboarding_completed', 14, timestamp '2024-04-24',
             timestamp '2024-05-22', 500::bigint, 300::bigint, 0.60, 210::bigint, 120::bigint, 0.5714,
             -0.0286, -0.1084, 0.0512, 0.48, 'two_proportion_z', false, false, 'provisional', 60::bigint,
             25::bigint, 400::bigint, 0.15),
            ('PROD-3', 'Survey revamp', true, timestamp '2024-03-15 09:00', date '2024-03-15', 'nps',
             'NPS (all)', 28, timestamp '2024-02-16', timestamp '2024-04-12', 300::bigint, null::bigint, 20.0,
             310::bigint, null::bigint, 26.0, 6.0, -3.5, 15.5, 0.21, 'nps_difference_z', false, true, 'final',
             null::bigint, null::bigint, null::bigint, null::double),
            ('PROD-4', 'Dark mode', false, null::timestamp, null::date, 'retention', 'core_action_daily: day 7',
             14, null::timestamp, null::timestamp, null::bigint, null::bigint, null::double, null::bigint,
             null::bigint, null::double, null::double, null::double, null::double, null::double,
             'two_proportion_z', false, false, 'not_shipped', null::bigint, null::bigint, null::bigint,
             null::double)
        ) t(initiative_key, summary, is_shipped, shipped_at, ship_date, target_metric_type, target_metric_label,
            window_days, before_window_start, after_window_end, before_sample_size, before_successes,
            before_value, after_sample_size, after_successes, after_value, effect, effect_ci_lower,
            effect_ci_upper, p_value, test_method, is_significant, is_window_complete, outcome_status,
            adopting_users_after, adopting_accounts_after, active_users_after, adoption_share_after)
    """)
    con.execute(f"""
        create or replace table {s}.fct_initiative_adoption_weekly as
        select k as initiative_key, w::integer as week_index, (s + interval (7 * w) day) as week_start,
               (10 * (w + 1))::bigint as adopting_users, (4 * (w + 1))::bigint as adopting_accounts,
               500::bigint as active_users, 10 * (w + 1) / 500.0 as adoption_share, w < n - 1 as is_complete_week
        from (values ('PROD-1', timestamp '2024-04-10 12:00', 5), ('PROD-2', timestamp '2024-05-08 09:00', 2))
                 i(k, s, n),
             range(n) t(w)
    """)
    con.execute(f"""
        create or replace table {s}.fct_initiative_delivery as
        select * from (values
            ('PROD-1', 'Share reports {HOSTILE_SQL}', 'done', date '2024-04-01', date '2024-04-10',
             timestamp '2024-04-10 12:00', 'initiative_done', true, 9),
            ('PROD-2', 'Guided onboarding', 'done', date '2024-05-10', date '2024-05-08',
             timestamp '2024-05-08 09:00', 'last_child_done', true, -2),
            ('PROD-3', 'Survey revamp', 'done', null::date, date '2024-03-15', timestamp '2024-03-15 09:00',
             'initiative_done', true, null::integer),
            ('PROD-4', 'Dark mode', 'in_progress', date '2024-06-30', null::date, null::timestamp, null, false,
             null::integer)
        ) t(initiative_key, summary, status_category, due_date, ship_date, shipped_at, ship_date_rule, is_shipped,
            slip_days)
    """)
    con.execute(f"""
        create or replace table {s}.fct_portfolio_scores as
        select * from (values
            ('PROD-1', 'initiative', 'Share reports {HOSTILE_SQL}', 'collaboration', 'shipped', 1200.0,
             'analytics: report_created users, last 90 days', 2.0, 'outcome: significant effect', 0.8,
             'kano + requests', 2.0, 'jira: time tracking', 960.0, 1, 'report_sharing', 'A', 52000.0, 14::bigint,
             35.0, null),
            ('IDEA-2', 'idea', 'CSV export', 'data', 'discovery', 400.0, 'feature requests: accounts x 10', 1.0,
             'kano: one-dimensional', 0.5, 'default', 1.0, 'jira: story points', 200.0, 2, 'data_export', 'O',
             18000.0, 6::bigint, 20.0, null),
            ('IDEA-4', 'idea', 'Dark mode', 'ui', 'parked', 300.0, 'feature requests', 0.5, 'kano: indifferent',
             0.5, 'default', null, null, null, null, 'dark_mode', 'I', 1000.0, 2::bigint, null,
             'IDEA-4 ''Dark mode'' has no effort estimate in Jira; not ranked <i>')
        ) t(item_key, item_type, title, theme, status, reach, reach_source, impact, impact_source, confidence,
            confidence_source, effort_person_months, effort_source, rice_score, rice_rank, kano_feature,
            kano_category, revenue_weighted_demand, requesting_accounts, requester_nps, scoring_note)
    """)
    con.execute(f"""
        create or replace table {s}.fct_portfolio_kano_mix as
        select * from (values
            ('must_be', 0.0, 0.0, 0.4, -0.4),
            ('one_dimensional', 1.0, 0.3333, 0.3, 0.0333),
            ('attractive', 2.0, 0.6667, 0.2, 0.4667),
            ('indifferent_or_other', 0.0, 0.0, 0.1, -0.1)
        ) t(kano_category, planned_effort_person_months, effort_share, target_share, share_gap)
    """)


def write_report_marts_db(path) -> None:
    """A DuckDB file laid out like a publication's marts.duckdb (tables in `main`)."""
    con = duckdb.connect(str(path))
    try:
        create_report_marts(con)
    finally:
        con.close()
