"""The HTML page around the charts: the inlined Vega JavaScript, the embedding script and the CSP that allows them.

Charts are Vega-Lite specs (built with Altair) that vega-embed draws in the browser. The JavaScript of Vega,
Vega-Lite and vega-embed comes from the installed vl-convert-python package (``javascript_bundle``) and is
inlined, so the page needs no network. Each spec sits in a ``<script type="application/json">`` data block (never
executed); one fixed script embeds them. The Content-Security-Policy allows exactly these two scripts by their
sha256 hashes and no eval: vega-embed runs with ``ast: true``, so Vega evaluates expressions with its interpreter
instead of ``new Function``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from publish.report.marts import ReportError

# The Vega-Lite major.minor that Altair writes its specs for, as vl-convert names its bundles.
_VL_VERSION_FOR_ALTAIR = "v6_4"


def default_script_cache_dir() -> Path:
    """Bundling takes 5-15 s (vl-convert runs a JS bundler) and depends only on the installed versions: cached."""
    return Path.home() / ".cache" / "product-metrics-warehouse"


EMBED_SCRIPT = """
(function () {
  "use strict";
  var options = {renderer: "svg", ast: true, actions: {export: true, source: false, compiled: false, editor: false},
                 tooltip: {theme: "light"}};
  document.querySelectorAll("script[data-spec-for]").forEach(function (block) {
    var name = block.getAttribute("data-spec-for");
    var figure = document.querySelector('[data-chart="' + name + '"]');
    var target = figure.querySelector(".vega-target");
    vegaEmbed(target, JSON.parse(block.textContent), options).then(function () {
      figure.setAttribute("data-rendered", "true");
    }).catch(function (error) {
      figure.setAttribute("data-rendered", "failed");
      console.error("chart " + name + " failed: " + error);
    });
  });
})();
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _vega_bundle_uncached() -> str:
    import altair  # noqa: F401 - the specs are Altair's; importing here keeps render-time cost in one place
    import vl_convert

    return vl_convert.javascript_bundle(vl_version=_VL_VERSION_FOR_ALTAIR)


@functools.cache
def vega_bundle(cache_dir: Path | None = None) -> str:
    """Vega + Vega-Lite + vega-embed as one script, cached on disk per installed vl-convert version."""
    import vl_convert

    cache_dir = cache_dir or default_script_cache_dir()
    version = getattr(vl_convert, "__version__", None) or vl_convert.get_vega_embed_version()
    cached = cache_dir / f"vega-embed-bundle-vlc{version}-vl{_VL_VERSION_FOR_ALTAIR}.js"
    if cached.is_file():
        text = cached.read_text(encoding="utf-8")
        if text.rstrip().endswith(";") and "window.vegaEmbed" in text:
            return text
    text = _vega_bundle_uncached()
    if "window.vegaEmbed" not in text:
        raise ReportError(f"vl-convert {version} returned a JavaScript bundle without vegaEmbed")
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Written to a temp name and renamed: a concurrent or killed render never leaves half a bundle behind.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".bundle-", suffix=".js")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, cached)
    return text


def csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(scripts: list[str]) -> str:
    """Nothing may load or connect; only the given inline scripts run; inline styles (Vega's tooltip CSS) apply."""
    hashes = " ".join(csp_hash(s) for s in scripts)
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'none'"
    )


def spec_block(name: str, spec: dict[str, Any]) -> str:
    """A Vega-Lite spec as a JSON data block; '<', '>' and '&' escaped so data text cannot end the block."""
    text = json.dumps(spec, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" data-spec-for="{esc(name)}">{text}</script>'


def chart_figure(name: str, title: str, spec: dict[str, Any], caption: str) -> str:
    """One chart: a title, the Vega target, the caption (what it shows, units, data-through) and its spec."""
    return (
        f'<figure class="chart" data-chart="{esc(name)}" data-title="{esc(title)}">'
        f'<div class="vega-target" role="img" aria-label="{esc(title)}"></div>'
        f"<figcaption>{caption}</figcaption>{spec_block(name, spec)}</figure>"
    )


def no_data_panel(section: str, reason: str) -> str:
    return f'<div class="no-data" data-no-data="{esc(section)}"><strong>No data.</strong> {esc(reason)}</div>'


CSS = """
:root{--fg:#1d232a;--muted:#5b6770;--line:#d5dbe0;--bg:#fff;--panel:#f5f7f9;--ok:#00734f;--bad:#b03a00}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg)}
header{padding:18px 32px;background:#10324a;color:#fff}
header h1{margin:0 0 8px;font-size:24px}
header dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;font-size:14px}
header dt{opacity:.75}header dd{margin:0}
table.through{border-collapse:collapse;font-size:13px;margin-top:8px;color:#fff}
table.through th,table.through td{padding:2px 14px 2px 0;text-align:left;font-weight:normal}
table.through th{opacity:.75}
nav{padding:8px 32px;border-bottom:1px solid var(--line);font-size:14px;position:sticky;top:0;background:#fff;z-index:2}
nav a{margin-right:16px;color:#0b5a8a}
main{padding:8px 32px 40px}
section{margin-top:24px}
h2{font-size:20px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{font-size:16px;margin:22px 0 4px}h4{font-size:14px;margin:14px 0 4px}
.muted{color:var(--muted);font-weight:normal}
.note{color:var(--muted);font-size:13px;max-width:1100px;margin:4px 0 8px}
.limit{background:#fff6e0;border-left:4px solid #e6a700;padding:6px 10px;font-size:13px;max-width:1100px}
figure.chart{margin:6px 0 18px;width:100%}
figure.chart .vega-target{width:100%}
figure.chart .vega-embed{width:100%;display:block}
figure.chart .vega-bindings{font-size:13px;margin:4px 0 0}
figure.chart .vega-bind-name{font-weight:600;margin-right:6px}
figcaption{font-size:13px;color:var(--muted);max-width:1100px}
.scroll{overflow-x:auto}
.no-data{padding:12px 14px;background:var(--panel);border-left:4px solid #c5ccd3;color:var(--muted);margin:6px 0}
table.data{border-collapse:collapse;font-size:13px;margin:8px 0;width:100%}
table.data th,table.data td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
table.data td.num,table.data th.num{text-align:right;font-variant-numeric:tabular-nums}
table.data th{background:var(--panel)}
.src{color:var(--muted);font-size:11px}
.ok{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}.na{color:var(--muted)}
ul.notes{font-size:13px}
#vg-tooltip-element{font-size:13px}
@media print{nav{display:none}}
"""


def page(*, title: str, header: str, nav: str, body: str, bundle: str) -> str:
    policy = content_security_policy([bundle, EMBED_SCRIPT])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(policy)}">'
        f"<title>{esc(title)}</title><style>{CSS}</style>"
        f"<script>{bundle}</script></head><body>"
        f"<header>{header}</header><nav>{nav}</nav><main>{body}</main>"
        f"<script>{EMBED_SCRIPT}</script></body></html>\n"
    )
