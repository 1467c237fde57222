"""report.html without a browser: offline, escaped, every section drawn, and "no data" instead of a crash."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import duckdb
import pytest

from publish.report import ReportError, nice_ticks, render_from_connection, render_report
from tests.support.report_marts import EXPECTED_CHARTS, HOSTILE, create_report_marts, write_report_marts_db


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    db = tmp_path_factory.mktemp("report") / "marts.duckdb"
    write_report_marts_db(db)
    return render_report(db, release_id="REL-1", run_id="run-9", generated_at=datetime(2024, 5, 16, 3, tzinfo=UTC))


def test_every_chart_is_an_svg_with_a_title_first(page):
    charts = re.findall(r'<svg data-chart="([^"]+)" role="img"[^>]*><title>([^<]+)</title>', page)
    assert [name for name, _ in charts] == list(EXPECTED_CHARTS)
    assert all(title.strip() for _, title in charts)
    assert "data-no-data" not in page  # the fixture covers every section


def test_nothing_is_fetched_and_nothing_runs(page):
    lowered = page.lower()
    for needle in ("http://", "https://", "//cdn", "<script", "src=", "url(", "@import", "<link", "<iframe"):
        assert needle not in lowered, needle
    assert "default-src 'none'" in page


def test_text_from_the_data_is_escaped(page):
    assert HOSTILE not in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;" in page
    assert "sharing &lt;b&gt;" in page  # a funnel name
    assert "not ranked &lt;i&gt;" in page  # an unscored item's note


def test_header_names_release_run_and_freshness(page):
    assert "REL-1" in page and "run-9" in page and "2024-05-16 03:00 UTC" in page
    assert "product events 2024-05-15" in page


def test_funnel_uses_the_latest_period_whose_window_has_elapsed(page):
    # Data through 2024-05-15: May is still running, so April is the latest complete month.
    assert "Latest complete month: 2024-04-01" in page
    assert "All periods (3 months)" in page


def test_retention_cells_not_yet_complete_are_blank(page):
    svg = re.search(r'<svg data-chart="retention-0".*?</svg>', page).group(0)
    # 10 cohorts x 10 periods; the cohort of day d has 15 - d complete periods by 2024-05-16.
    assert svg.count('class="blank"') == sum(range(10))
    assert svg.count('class="mark"') == 100 - sum(range(10))


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
        "nps": "table fct_nps has no rows matching segment_plan = &#x27;(all)&#x27; and segment_platform = "
        "&#x27;(all)&#x27;",
        "initiative-outcomes": "table fct_initiative_outcomes lacks column(s) effect",
    }
    assert 'data-chart="kano-mix"' in page and 'data-chart="clv-cac"' in page


def test_an_empty_publication_renders_only_no_data_panels():
    page = render_from_connection(duckdb.connect())
    assert "data-chart=" not in page
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


@pytest.mark.parametrize(("lo", "hi"), [(-7.5, 18.9), (0.0, 64.2), (0.0, 1.0), (-12.0, 0.0), (3.0, 3.0), (0.0, 0.013)])
def test_axis_ticks_cover_the_data_so_no_mark_falls_outside_its_axis(lo, hi):
    ticks = nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi, ticks
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1 and min(steps) > 0, ticks  # evenly spaced
