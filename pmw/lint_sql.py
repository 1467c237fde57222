"""Lint the dbt SQL with sqlfluff's dbt templater (`make lint`).

The templater compiles the project, so it needs what a build gets: the dbt vars of the repository's configuration
(core.config.PipelineConfig.dbt_vars(), the only place they are defined; dbt_project.yml has no defaults for them)
and the profile's env vars pointing somewhere (a throwaway data directory). The vars the `.sqlfluff` context sets
win: they render the metric models with a representative configuration (every filter op, both entry modes, ...).
The others go in an extra config file named pyproject.toml, the one format in which sqlfluff keeps lists and
mappings in a templater context (a .sqlfluff file would pass them to dbt as strings).
"""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from core.config import load_config
from core.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Paths
from orchestration.dbt_cli import dbt_process_env

SQLFLUFF_CONFIG = PROJECT_ROOT / ".sqlfluff"
_CONTEXT_SECTION = "sqlfluff:templater:dbt:context"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"a dbt var of type {type(value).__name__} cannot be written as TOML: {value!r}")


def lint_context_toml(dbt_vars: dict[str, Any]) -> str:
    """The vars .sqlfluff's own context does not set, as a sqlfluff pyproject.toml section."""
    parser = configparser.ConfigParser()
    parser.read(SQLFLUFF_CONFIG, encoding="utf-8")
    representative = set(parser[_CONTEXT_SECTION]) if parser.has_section(_CONTEXT_SECTION) else set()
    lines = [f"{name} = {_toml(value)}" for name, value in sorted(dbt_vars.items()) if name not in representative]
    return "[tool.sqlfluff.templater.dbt.context]\n" + "\n".join(lines) + "\n"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pmw-sqlfluff-") as tmp:
        paths = Paths(Path(tmp))
        (paths.lake / "analytics" / "events").mkdir(parents=True)
        paths.warehouse_dir.mkdir(parents=True)
        extra_config = Path(tmp) / "pyproject.toml"  # the name decides the format (TOML) for sqlfluff
        extra_config.write_text(lint_context_toml(load_config().dbt_vars()), encoding="utf-8")
        sqlfluff = Path(sys.executable).with_name("sqlfluff")
        cmd = [
            str(sqlfluff),
            "lint",
            str(DBT_PROJECT_DIR / "models"),
            "--config",
            str(extra_config),
            "--processes",
            "2",
            "--disable-progress-bar",
        ]
        # sqlfluff runs from the repository root (its configuration lives there), not in the data directory that
        # dbt_env's relative paths assume: give the temporary warehouse and lake absolutely.
        env = {
            **dbt_process_env(paths),
            "PMW_WAREHOUSE_PATH": str(paths.warehouse_path),
            "PMW_LAKE_DIR": str(paths.lake),
        }
        return subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
