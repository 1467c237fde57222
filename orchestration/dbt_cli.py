"""How the pipeline calls dbt: one environment, one set of vars, a manifest kept in step with the project files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.config import PipelineConfig
from core.settings import DBT_PROJECT_DIR, Paths

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# Files whose change makes the parsed manifest stale.
_PROJECT_INPUT_GLOBS = ("dbt_project.yml", "profiles.yml", "models/**/*", "macros/**/*", "seeds/**/*", "tests/**/*")


def dbt_env(paths: Paths, threads: int | None = None) -> dict[str, str]:
    """Environment variables the dbt profile and sources read (see dbt_project/profiles.yml)."""
    env = {
        "PMW_WAREHOUSE_PATH": str(paths.warehouse_path),
        "PMW_LAKE_DIR": str(paths.lake),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        # dbt must not phone home from a machine that only reaches package registries.
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    if threads is not None:
        env["PMW_DBT_THREADS"] = str(threads)
    return env


def apply_dbt_env(paths: Paths) -> None:
    """Export dbt_env into this process, so dbt subprocesses (dagster-dbt copies os.environ) inherit it."""
    os.environ.update(dbt_env(paths))


def dbt_vars_json(config: PipelineConfig) -> str:
    return json.dumps(config.dbt_vars(), sort_keys=True, separators=(",", ":"))


def dbt_executable() -> str:
    """The dbt next to this interpreter (the project's venv), whether or not the venv is on PATH."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def manifest_is_stale(manifest_path: Path = MANIFEST_PATH) -> bool:
    if not manifest_path.exists():
        return True
    built = manifest_path.stat().st_mtime
    return any(
        p.is_file() and p.stat().st_mtime > built
        for pattern in _PROJECT_INPUT_GLOBS
        for p in DBT_PROJECT_DIR.glob(pattern)
    )


def ensure_manifest(paths: Paths, *, force: bool = False) -> Path:
    """Parse the dbt project if the manifest is missing or older than any project file; return its path."""
    if force or manifest_is_stale():
        env = {**os.environ, **dbt_env(paths)}
        proc = subprocess.run(
            [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR)],
            env=env,
            cwd=DBT_PROJECT_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not MANIFEST_PATH.exists():
            raise RuntimeError(f"dbt parse failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return MANIFEST_PATH


def mart_models(manifest_path: Path = MANIFEST_PATH) -> list[str]:
    """Names of the dbt models that land in the `marts` schema: what publish copies and what gates guard."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
    )
