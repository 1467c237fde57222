"""report.html in a real browser: headless Debian Chromium, every network request blocked.

It must load from file:// alone, draw every chart (non-empty SVG with a size on the page), log no console error
and throw no page error, and a full-page screenshot must come out as a real PNG.

Without Chromium (or the playwright package) this skips locally; with PMW_REQUIRE_BROWSER=1 (CI, `make test`) it
fails instead, so a missing browser can never pass silently.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

from pmw.report import render_report
from tests.unit.report_fixtures import EXPECTED_CHARTS, write_report_marts_db

CHROMIUM = os.environ.get("PMW_CHROMIUM", "/usr/bin/chromium")
# The flags the closed network needs: no background fetches (their refused connections would be noise), no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _browser_or_skip():
    missing = []
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"Chromium at {CHROMIUM} (Debian: apt-get install chromium; `make browser`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        reason = "browser test needs " + " and ".join(missing)
        if os.environ.get("PMW_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + "; PMW_REQUIRE_BROWSER=1 is set")
        pytest.skip(reason)
    return sync_playwright


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    assert data[-8:-4] == b"IEND", f"{path} is truncated"
    return struct.unpack(">II", data[16:24])


def test_report_renders_offline_in_headless_chromium(tmp_path):
    sync_playwright = _browser_or_skip()
    db = tmp_path / "marts.duckdb"
    write_report_marts_db(db)
    report = tmp_path / "report.html"
    report.write_text(render_report(db, release_id="REL-BROWSER", run_id="run-b"), encoding="utf-8")
    screenshot = tmp_path / "report.png"

    requests: list[str] = []
    blocked: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a new, empty profile
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            service_workers="block",
        )
        try:

            def block_non_file(route):
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            context.route("**/*", block_non_file)
            context.on("request", lambda r: requests.append(r.url))
            page = context.new_page()
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            response = page.goto(report.as_uri(), wait_until="load")
            assert response is None or response.ok
            page.wait_for_load_state("networkidle")

            assert page.title() == "Product metrics report REL-BROWSER"
            assert "REL-BROWSER" in page.locator("header").inner_text()
            for name in EXPECTED_CHARTS:
                chart = page.locator(f'svg[data-chart="{name}"]')
                assert chart.count() == 1, f"chart {name}: {chart.count()} elements"
                assert chart.locator(":scope > title").text_content().strip(), f"chart {name} has no <title>"
                marks = chart.locator("rect, circle, line, polyline, polygon").count()
                assert marks > 0, f"chart {name} has no marks"
                box = chart.bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 20, f"chart {name}: {box}"
            assert page.locator("[data-no-data]").count() == 0
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()

    assert requests and all(url.startswith("file://") for url in requests), requests
    assert blocked == []
    assert console_errors == []
    assert page_errors == []
    assert dialogs == []  # the hostile <script> text in the marts was escaped, not run
    width, height = _png_size(screenshot)
    assert width == 1280 and height > 2500, (width, height)  # full page: much taller than the viewport
    assert screenshot.stat().st_size > 50_000
    if os.environ.get("PMW_REPORT_SCREENSHOT"):  # keep it for a look (CI artefact)
        shutil.copy(screenshot, os.environ["PMW_REPORT_SCREENSHOT"])
