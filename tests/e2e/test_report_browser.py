"""report.html in a real browser: headless Debian Chromium, every network request blocked.

It must load from file:// alone, draw every chart (vega-embed finished, an SVG with marks and a size on the page),
show a tooltip when a mark is hovered, log no console error (a CSP violation is one) and throw no page error, and
a full-page screenshot must come out as a real PNG; its path is printed (and copied to $PMW_REPORT_SCREENSHOT).
The browser driver is shared with the end-to-end test on the published report (tests/support/browser.py).
"""

from __future__ import annotations

from publish.report import render_report
from tests.support.browser import assert_clean_offline_visit, visit_report
from tests.support.report_marts import EXPECTED_CHARTS, write_report_marts_db


def test_report_renders_offline_in_headless_chromium(tmp_path):
    db = tmp_path / "marts.duckdb"
    write_report_marts_db(db)
    report = tmp_path / "report.html"
    report.write_text(render_report(db, release_id="REL-BROWSER", run_id="run-b"), encoding="utf-8")
    screenshot = tmp_path / "report.png"

    visit = visit_report(report, tmp_path, screenshot)
    print(f"report screenshot: {screenshot}")

    assert visit.page_title == "Product metrics report REL-BROWSER"
    assert "REL-BROWSER" in visit.header_text
    assert sorted(visit.charts) == sorted(EXPECTED_CHARTS)
    for name in EXPECTED_CHARTS:
        chart = visit.charts[name]
        assert chart.rendered == "true", f"chart {name}: vega-embed did not draw it ({chart.rendered})"
        assert chart.title, f"chart {name} has no title"
        assert chart.marks > 0, f"chart {name} has no marks"
        assert chart.width > 1000 and chart.height > 60, f"chart {name} is not full width: {chart}"
        assert chart.tooltip, f"chart {name}: hovering its marks showed no tooltip"
    assert (
        "Initiative" in visit.charts["delivery-slip"].tooltip and "days late" in visit.charts["delivery-slip"].tooltip
    )
    # The segment filters (issue 12): funnel, retention and NPS each have one, and every choice still draws.
    assert visit.charts["funnel-0"].selectors["Segment:"] == ["All", "iOS"]  # the fixture names no property
    assert visit.charts["retention-0"].selectors == {"Platform:": ["All", "Not recorded", "ios"]}
    assert visit.charts["nps-trend"].selectors == {"Segment:": ["All respondents", "Plan: Pro", "Platform: ios"]}
    for name in ("funnel-0", "retention-0", "nps-trend"):
        assert all(marks > 0 for marks in visit.charts[name].marks_with_last_option.values()), visit.charts[name]
    assert visit.no_data_panels == []
    assert_clean_offline_visit(visit)
    width, height = visit.screenshot_size
    assert width == 1280 and height > 2500, (width, height)  # full page: much taller than the viewport
    assert visit.screenshot_bytes > 50_000
