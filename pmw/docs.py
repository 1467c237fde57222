"""The mart catalogue: dbt's own docs site, generated offline as one static HTML file.

`dbt docs generate --static` writes target/static_index.html with the manifest and catalog embedded, so it opens
from disk without `dbt docs serve`. dbt's page loads no stylesheet, font or script from the network; its only
outbound request is the Snowplow usage tracker, injected when the manifest says send_anonymous_usage_stats — so the
catalogue is generated with DBT_SEND_ANONYMOUS_USAGE_STATS=false (orchestration.dbt_cli.dbt_env) and checked for it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from core.config import PipelineConfig
from core.settings import DBT_PROJECT_DIR, Paths
from orchestration.dbt_cli import dbt_executable, dbt_process_env, dbt_vars_json

CATALOGUE_NAME = "mart_catalogue.html"
_TRACKING_ON = re.compile(r'"send_anonymous_usage_stats":\s*true')


class DocsError(RuntimeError):
    """The catalogue could not be generated, or would not be offline."""


def catalogue_path(paths: Paths) -> Path:
    return paths.data_dir / "docs" / CATALOGUE_NAME


def generate_catalogue(paths: Paths, config: PipelineConfig) -> Path:
    """Run `dbt docs generate --static` against the working warehouse; copy the page to data/docs/."""
    if not paths.warehouse_path.exists():
        raise DocsError(f"no working warehouse at {paths.warehouse_path}: run the pipeline first (make demo)")
    target = paths.data_dir / "docs" / "dbt_target"
    env = {**dbt_process_env(paths), "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs")}
    proc = subprocess.run(
        [
            dbt_executable(),
            "docs",
            "generate",
            "--static",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--vars",
            dbt_vars_json(config),
        ],
        env=env,
        cwd=paths.data_dir,  # dbt_env's warehouse and lake paths are relative to the data directory
        capture_output=True,
        text=True,
        check=False,
    )
    static = target / "static_index.html"
    if proc.returncode != 0 or not static.exists():
        raise DocsError(f"dbt docs generate failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    page = static.read_text(encoding="utf-8")
    if _TRACKING_ON.search(page):
        raise DocsError(f"{static} would load dbt's usage tracker from the network; set DBT_SEND_ANONYMOUS_USAGE_STATS")
    out = catalogue_path(paths)
    shutil.copyfile(static, out)
    return out
