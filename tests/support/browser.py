"""Open a report.html in headless Debian Chromium with every non-file:// request blocked; shared by the tests.

Without Chromium (or the playwright package) the calling test skips locally; with PMW_REQUIRE_BROWSER=1 (CI,
`make test`) it fails instead, so a missing browser can never pass silently.
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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


@dataclass
class ChartSeen:
    title: str
    rendered: str  # "true" once vega-embed drew it, "failed" when it threw
    marks: int
    width: float
    height: float
    tooltip: str  # text of Vega's tooltip element after hovering the chart's first mark with a tooltip
    # Each <select> bound under the chart: its label -> its option texts, and the marks drawn with its last option
    # chosen (then put back), so a filter that empties or breaks the chart shows.
    selectors: dict[str, list[str]] = field(default_factory=dict)
    marks_with_last_option: dict[str, int] = field(default_factory=dict)


@dataclass
class BrowserVisit:
    page_title: str
    header_text: str
    charts: dict[str, ChartSeen]  # data-chart name -> what was drawn
    no_data_panels: list[str]  # data-no-data values
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    screenshot_size: tuple[int, int] = (0, 0)
    screenshot_bytes: int = 0


def browser_or_skip():
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


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    assert data[-8:-4] == b"IEND", f"{path} is truncated"
    return struct.unpack(">II", data[16:24])


def _hover_tooltip(page, figure) -> str:
    """Hover the chart's marks until Vega's tooltip element shows text; its text, or '' when none did."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    marks = figure.locator(".vega-target svg g.role-mark > path, .vega-target svg g.role-mark > text")
    for i in range(min(marks.count(), 12)):
        mark = marks.nth(i)
        box = mark.bounding_box()
        if not box or box["width"] < 1 or box["height"] < 1:
            continue
        mark.scroll_into_view_if_needed()
        box = mark.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        tip = page.locator("#vg-tooltip-element.visible")
        try:
            tip.wait_for(state="visible", timeout=1_000)
        except PlaywrightTimeout:  # this mark has no tooltip (or is covered): try the next one
            continue
        text = (tip.inner_text() or "").strip()
        page.mouse.move(0, 0)
        if text:
            return text
    return ""


def _mark_count(figure) -> int:
    # Vega draws each mark item as a path/rect/text inside a g.role-mark group.
    return figure.locator(".vega-target svg g.role-mark > *").count()


def _exercise_selectors(page, figure) -> tuple[dict[str, list[str]], dict[str, int]]:
    """The chart's bound <select>s (label -> option texts) and its marks with each one's last option chosen."""
    selectors: dict[str, list[str]] = {}
    marks: dict[str, int] = {}
    binds = figure.locator(".vega-bind")
    for i in range(binds.count()):
        bind = binds.nth(i)
        select = bind.locator("select")
        if not select.count():
            continue
        name = bind.locator(".vega-bind-name").inner_text().strip()
        options = [o.strip() for o in select.locator("option").all_inner_texts()]
        selectors[name] = options
        default = select.input_value()
        select.select_option(index=len(options) - 1)
        page.wait_for_timeout(300)  # Vega re-renders on its next animation frame
        marks[name] = _mark_count(figure)
        select.select_option(value=default)
        page.wait_for_timeout(300)
    return selectors, marks


def visit_report(report: Path, work_dir: Path, screenshot: Path) -> BrowserVisit:
    """Load ``report`` from file:// in a new empty profile, read every chart, take a full-page screenshot."""
    sync_playwright = browser_or_skip()
    requests: list[str] = []
    blocked: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(work_dir / "chromium-profile"),
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
            response = page.goto(report.resolve().as_uri(), wait_until="load")
            assert response is None or response.ok
            page.wait_for_load_state("networkidle")
            # Every chart has finished embedding (rendered or failed) before anything is read.
            page.wait_for_function(
                "() => [...document.querySelectorAll('figure[data-chart]')]"
                ".every(f => f.hasAttribute('data-rendered'))",
                timeout=30_000,
            )
            charts: dict[str, ChartSeen] = {}
            figures = page.locator("figure[data-chart]")
            for i in range(figures.count()):
                figure = figures.nth(i)
                svg = figure.locator(".vega-target svg").first
                box = (svg.bounding_box() if svg.count() else None) or {"width": 0.0, "height": 0.0}
                name = figure.get_attribute("data-chart") or ""
                seen = ChartSeen(
                    title=figure.get_attribute("data-title") or "",
                    rendered=figure.get_attribute("data-rendered") or "",
                    marks=_mark_count(figure),
                    width=box["width"],
                    height=box["height"],
                    tooltip=_hover_tooltip(page, figure),
                )
                seen.selectors, seen.marks_with_last_option = _exercise_selectors(page, figure)
                charts[name] = seen
            panels = page.locator("[data-no-data]")
            no_data = [panels.nth(i).get_attribute("data-no-data") or "" for i in range(panels.count())]
            visit = BrowserVisit(
                page_title=page.title(),
                header_text=page.locator("header").inner_text(),
                charts=charts,
                no_data_panels=no_data,
            )
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()
    visit.requests, visit.blocked = requests, blocked
    visit.console_errors, visit.page_errors, visit.dialogs = console_errors, page_errors, dialogs
    visit.screenshot_size = png_size(screenshot)
    visit.screenshot_bytes = screenshot.stat().st_size
    if os.environ.get("PMW_REPORT_SCREENSHOT"):  # keep it for a look (CI artefact)
        shutil.copy(screenshot, os.environ["PMW_REPORT_SCREENSHOT"])
    return visit


def assert_clean_offline_visit(visit: BrowserVisit) -> None:
    """Only file:// was asked for; nothing was blocked, logged as an error, thrown or popped up."""
    assert visit.requests and all(url.startswith("file://") for url in visit.requests), visit.requests
    assert visit.blocked == []
    assert visit.console_errors == []
    assert visit.page_errors == []
    assert visit.dialogs == []  # hostile <script> text in the marts was escaped, not run
