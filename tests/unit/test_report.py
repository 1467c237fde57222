"""report.html without a browser: self-contained, a strict CSP, escaped, human labels, and "no data" not a crash."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from datetime import UTC, datetime

import duckdb
import pytest

from publish.report import ReportError, render_from_connection, render_report
from publish.report.labels import LABELS, label, source_label
from tests.support.report_marts import EXPECTED_CHARTS, HOSTILE, create_report_marts, write_report_marts_db


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    db = tmp_path_factory.mktemp("report") / "marts.duckdb"
    write_report_marts_db(db)
    return render_report(db, release_id="REL-1", run_id="run-9", generated_at=datetime(2024, 5, 16, 3, tzinfo=UTC))


def specs(page: str) -> dict[str, dict]:
    blocks = re.findall(r'<script type="application/json" data-spec-for="([^"]+)">(.*?)</script>', page, re.S)
    return {name: json.loads(text) for name, text in blocks}


def spec_values(spec: dict) -> list[dict]:
    """The inline rows of a (layered) Vega-Lite spec."""
    return spec["data"]["values"]


def visible_text(page: str) -> str:
    """The page without its scripts and data blocks: what a reader sees outside the charts."""
    return re.sub(r"<script.*?</script>", "", page, flags=re.S)


def test_every_chart_has_a_figure_a_title_and_a_full_width_spec(page):
    names = re.findall(r'<figure class="chart" data-chart="([^"]+)" data-title="[^"]+">', page)
    assert names == list(EXPECTED_CHARTS)
    assert list(specs(page)) == list(EXPECTED_CHARTS)
    for name, spec in specs(page).items():
        assert spec["width"] == "container", name
        assert spec["config"]["autosize"]["type"] == "fit-x", name
    assert "data-no-data" not in page  # the fixture covers every section


def test_every_mark_has_a_tooltip(page):
    for name, spec in specs(page).items():
        for layer in spec.get("layer", [spec]):
            mark = layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
            if mark == "rule" and "tooltip" not in layer.get("encoding", {}):
                assert "datum" in json.dumps(layer["encoding"]), f"{name}: a rule without tooltip is not a reference"
                continue
            assert "tooltip" in layer["encoding"], f"{name}: {mark} layer has no tooltip"


def test_csp_allows_only_the_two_inline_scripts_and_nothing_remote(page):
    policy = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1))
    assert "default-src 'none'" in policy
    assert "connect-src" not in policy and "unsafe-eval" not in policy
    script_src = re.search(r"script-src ([^;]+);", policy).group(1).split()
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 2  # the Vega bundle and the embedding script
    expected = {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in scripts}
    assert set(script_src) == expected
    lowered = visible_text(page).lower()
    for needle in ("<link", "<iframe", "<img", "@import", " src=", "http://", "https://"):
        assert needle not in lowered, needle


def test_text_from_the_data_is_escaped(page):
    assert HOSTILE not in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;" in page  # tables
    delivery = spec_values(specs(page)["delivery-slip"])
    assert any(HOSTILE in row["initiative"] for row in delivery)  # JSON carries it intact, as data
    assert "not ranked &lt;i&gt;" in page  # an unscored item's note


def test_header_names_release_run_and_the_data_through_date_of_every_source(page):
    assert "REL-1" in page and "run-9" in page and "2024-05-16 03:00 UTC" in page
    through = re.search(r'<table class="through">.*?</table>', page).group(0)
    assert "Product analytics</th><td>15 May 2024" in through
    assert "Surveys (NPS)</th><td>May 2024" in through
    assert "Billing</th><td>May 2024" in through
    assert "Jira</th><td>latest ship 8 May 2024" in through


def test_no_raw_enum_values_and_no_months_printed_as_dates(page):
    text = visible_text(page)
    data = json.dumps([spec_values(s) for s in specs(page).values()])
    for raw in (
        "one_dimensional",
        "in_delivery",
        "measured_effect:not_significant",
        "jpd_field",
        "typed_in",
        "first_entry",
        "any_entry",
        "not_shipped",
        "two_proportion_z",
        "indifferent_or_other",
    ):
        assert raw not in text, raw
        assert raw not in data, raw
    assert not re.search(r"\b2024-0\d-01\b", text)
    assert "Mar 2024" in text  # a month reads as a month


def test_every_value_the_contracts_accept_has_a_label():
    accepted = {
        "outcome_status": ["final", "provisional", "not_shipped", "insufficient_data"],
        "test_method": ["two_proportion_z", "nps_difference_z", "welch_t"],
        "item_status": ["shipped", "in_delivery", "discovery", "parked"],
        "metric_type": ["funnel_step", "retention", "nps", "revenue"],
        "status_category": ["new", "indeterminate", "done"],
        "kano_mix": ["must_be", "one_dimensional", "attractive", "indifferent_or_other"],
        "kano_category": list("AOMIRQ"),
    }
    for domain, values in accepted.items():
        assert set(values) <= set(LABELS[domain]), domain
    assert source_label("measured_effect:not_significant") == "measured effect, not significant"
    assert source_label("kano:O") == "Kano survey: Performance"
    assert label("item_status", "some_new_state") == "some new state"  # never the raw token


def test_funnel_defaults_to_the_latest_complete_period_and_filters_by_segment(page):
    spec = specs(page)["funnel-0"]  # activation, monthly, data through 2024-05-15: April is the latest complete
    params = {p["name"]: p for p in spec["params"]}
    period = next(p for n, p in params.items() if n.startswith("period_"))
    assert period["value"] == "2024-04-01"
    assert period["bind"]["labels"] == ["Mar 2024", "Apr 2024", "May 2024 (not complete)"]
    segment = next(p for n, p in params.items() if n.startswith("segment_"))
    assert segment["bind"]["input"] == "select" and segment["bind"]["options"] == ["(all)", "iOS"]
    assert segment["bind"]["labels"] == ["All", "iOS"]


def test_retention_draws_only_complete_cells(page):
    rows = spec_values(specs(page)["retention-0"])
    # 10 daily cohorts x 10 periods; the cohort of day d (0-9) has 10 - d complete periods by 2024-05-16.
    for segment in ("(all)", "ios", "(none)"):
        assert len([r for r in rows if r["segment"] == segment]) == sum(10 - d for d in range(10)), segment
    assert all(r["retention"] is not None for r in rows)


def test_retention_filters_by_segment_defaulting_to_all(page):
    spec = specs(page)["retention-0"]
    (segment,) = spec["params"]
    assert segment["value"] == "(all)" and segment["bind"]["name"] == "Platform:"
    assert segment["bind"]["input"] == "select" and segment["bind"]["options"] == ["(all)", "(none)", "ios"]
    assert segment["bind"]["labels"] == ["All", "Not recorded", "ios"]
    assert {"filter": f"(datum.segment === {segment['name']})"} in spec["transform"]
    # A segment's cohort label carries its own size; the colour scale is the whole cohort's, shared by segments.
    ios = next(r for r in spec_values(spec) if r["segment"] == "ios")
    assert ios["cohort_label"].endswith("(n=30)")
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert scale["domain"] == [0, 0.8] and scale["clamp"] is True


def test_nps_offers_plan_and_platform_segments_and_zooms_to_the_data(page):
    spec = specs(page)["nps-trend"]
    seg = next(p for p in spec["params"] if p["name"] == "nps_segment")
    assert seg["bind"]["labels"] == ["All respondents", "Plan: Pro", "Platform: ios"]
    assert {"filter": "(datum.segment === nps_segment)"} in spec["transform"]
    band = spec["layer"][0]
    assert band["encoding"]["y"]["scale"] == {"nice": True, "zero": True}  # no fixed ±100 domain


def test_unit_economics_never_marks_a_meaningless_value_good(page):
    text = visible_text(page)
    row = re.search(r"<tr><td>Organic</td>.*?</tr>", text).group(0)
    assert "no spend" in row and row.count("not applicable") == 2 and "✓" not in row
    # The chart has no CAC bar for it, only the "no spend" note; every axis names the currency.
    cac = [r for r in spec_values(specs(page)["clv-cac"]) if r["channel"] == "Organic" and r["measure"] == "CAC"]
    assert cac == [{**cac[0], "note": "no spend"}]
    assert specs(page)["clv-cac"]["layer"][0]["encoding"]["x"]["title"] == "USD per new paying customer"
    sales = re.search(r"<tr><td>Paid search</td>.*?</tr>", text).group(0)
    assert sales.count('class="ok"') == 2  # LTV:CAC and payback each meet their target
    # Credits above the month's spend: the mart's net_credit, named in the row and the caption, no mark.
    events = re.search(r"<tr><td>Events</td>.*?</tr>", text).group(0)
    assert "credits exceed spend" in events and events.count("not applicable") == 2 and 'class="ok"' not in events
    assert "Events: credits exceeded the month's spend, so no CAC." in text
    assert "no CAC (not 0)" in text


def test_kano_mix_says_what_it_leaves_out(page):
    text = visible_text(page)
    assert "Shipped items are left out (PROD-1" in text
    assert "Items without an effort estimate are left out (IDEA-4)" in text


def test_unscored_items_are_listed_with_their_note(page):
    assert 'data-unscored="IDEA-4"' in page
    assert "IDEA-4 &#x27;Dark mode&#x27; has no effort estimate in Jira; not ranked" in page


def test_absent_or_empty_tables_give_no_data_panels_not_a_crash():
    con = duckdb.connect()
    create_report_marts(con)
    con.execute("drop table fct_portfolio_scores")
    con.execute("delete from fct_nps")
    con.execute("alter table fct_initiative_outcomes drop column effect")
    page = render_from_connection(con)
    panels = dict(re.findall(r'data-no-data="([^"]+)"><strong>No data.</strong> ([^<]+)</div>', page))
    assert panels == {
        "portfolio": "table fct_portfolio_scores is not in this publication",
        "nps": "table fct_nps has no rows matching segment_plan = &#x27;(all)&#x27; or segment_platform = "
        "&#x27;(all)&#x27;",
        "initiative-outcomes": "table fct_initiative_outcomes lacks column(s) effect",
    }
    assert 'data-chart="kano-mix"' in page and 'data-chart="clv-cac"' in page


def test_an_empty_publication_renders_only_no_data_panels():
    page = render_from_connection(duckdb.connect())
    assert '<figure class="chart"' not in page
    assert page.count("data-no-data=") == 9  # funnels, retention, nps, unit economics, 3 initiative, 2 portfolio


def test_an_unexpected_kano_mix_category_is_an_error_naming_it():
    con = duckdb.connect()
    create_report_marts(con)
    con.execute("update fct_portfolio_kano_mix set kano_category = 'delighter' where kano_category = 'attractive'")
    with pytest.raises(ReportError, match=r"fct_portfolio_kano_mix.kano_category: unexpected value\(s\) delighter"):
        render_from_connection(con)


def test_a_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(ReportError, match=r"no DuckDB file at .*nope\.duckdb"):
        render_report(tmp_path / "nope.duckdb")
