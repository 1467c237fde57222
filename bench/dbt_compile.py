"""One model's SQL as dbt compiles it with given vars, pointed at a bench database (shared by the bench scripts)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from core.settings import DBT_PROJECT_DIR, Paths
from orchestration.dbt_cli import dbt_env, dbt_executable


def compiled_model_sql(work: Path, model: str, dbt_vars: dict[str, Any], target_name: str) -> str:
    """``model``'s SELECT as dbt renders it with ``dbt_vars``, refs pointed at the bench database's schemas."""
    paths = Paths(work / "dbt")
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    (paths.lake / "analytics" / "events").mkdir(parents=True, exist_ok=True)
    target = work / target_name
    cmd = [
        dbt_executable(),
        "compile",
        "--quiet",
        "--select",
        model,
        "--vars",
        json.dumps(dbt_vars),
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target),
    ]
    # dbt_env gives the warehouse and lake relative to the data directory, dbt's working directory.
    proc = subprocess.run(
        cmd, env={**os.environ, **dbt_env(paths)}, cwd=paths.data_dir, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dbt compile failed:\n{proc.stdout}\n{proc.stderr}")
    sql = next(target.rglob(f"{model}.sql")).read_text(encoding="utf-8")
    # dbt qualifies refs with the profile's database (the file stem); the bench database is attached as `main`.
    return re.sub(r'"pmw"\."intermediate"\.', "intermediate.", sql)
