"""report.html in a real browser: headless Debian Chromium, every network request blocked.

It must load from file:// alone, draw every chart (non-empty SVG with a size on the page), log no console error
and throw no page error, and a full-page screenshot must come out as a real PNG. The browser driver is shared with
the end-to-end test on the published report (tests/support/browser.py).
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

    visit = visit_report(report, tmp_path, tmp_path / "report.png")

    assert visit.page_title == "Product metrics report REL-BROWSER"
    assert "REL-BROWSER" in visit.header_text
    for name in EXPECTED_CHARTS:
        chart = visit.charts.get(name)
        assert chart is not None, f"chart {name} missing; drawn: {sorted(visit.charts)}"
        assert chart.title, f"chart {name} has no <title>"
        assert chart.marks > 0, f"chart {name} has no marks"
        assert chart.width > 100 and chart.height > 20, f"chart {name}: {chart}"
    assert visit.no_data_panels == []
    assert_clean_offline_visit(visit)
    width, height = visit.screenshot_size
    assert width == 1280 and height > 2500, (width, height)  # full page: much taller than the viewport
    assert visit.screenshot_bytes > 50_000
