"""How the pipeline calls dbt: one environment and one set of vars per run, passed to each dbt process as arguments.

The manifest that ``@dbt_assets`` loads is prepared explicitly, before the definitions are loaded
(``prepare_dbt_manifest``: `pmw run`, `pmw prepare-dbt` for `make dev`, the tests), never at import time. It is
parsed with exactly the vars, profile, target and environment of the run's `dbt build`, so dbt's partial parsing
(the ``partial_parse.msgpack`` dagster-dbt copies into each invocation's target directory) stays valid and a
build skips the full parse.

Nothing here imports dagster-dbt (and dbt-core with it, ~7 s of a process start under load): the dbt resource and
its invocation are orchestration/dbt_resource.py, loaded with the dbt asset, so a run that builds nothing (a night
where nothing landed) and the build-state decision never load it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from core.config import PipelineConfig
from core.duckdb_connection import DuckDBSettings
from core.settings import DBT_PROJECT_DIR, Paths, Settings

TARGET_DIR = DBT_PROJECT_DIR / "target"
MANIFEST_PATH = TARGET_DIR / "manifest.json"
# What the manifest in TARGET_DIR was parsed with; a run with other vars or another environment parses again.
PARSE_INPUTS_PATH = TARGET_DIR / "pmw_parse_inputs.json"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# Files whose change makes the parsed manifest stale.
_PROJECT_INPUT_GLOBS = ("dbt_project.yml", "profiles.yml", "models/**/*", "macros/**/*", "seeds/**/*", "tests/**/*")


class DbtParseError(RuntimeError):
    """`dbt parse` failed: the project or the configuration's vars do not compile."""


class ManifestMissingError(RuntimeError):
    """The definitions were loaded before the dbt manifest was prepared."""


DBT_WORKDIR_ENV = "PMW_DBT_WORKDIR"
# What dbt_project/profiles.yml reads into DuckDB's settings.
DUCKDB_MEMORY_LIMIT_ENV = "PMW_DUCKDB_MEMORY_LIMIT"
DUCKDB_TEMP_DIRECTORY_ENV = "PMW_DUCKDB_TEMP_DIRECTORY"
DUCKDB_THREADS_ENV = "PMW_DUCKDB_THREADS"


def dbt_env(paths: Paths, threads: int | None = None, duckdb_settings: DuckDBSettings | None = None) -> dict[str, str]:
    """Environment variables the dbt profile and sources read (see dbt_project/profiles.yml).

    The warehouse and the lake are given relative to the data directory, dbt's working directory (PMW_DBT_WORKDIR,
    see dbt_process_env): the same text for every data directory, so the manifest and dbt's partial-parse state
    serve them all. An absolute warehouse path in the profile differs per data directory and forces a full parse of
    the project in every new one (dbt re-parses everything when an env var the profile reads changes). DuckDB's
    bounds (``duckdb_settings``, default: the run's, see core/duckdb_connection.py) reach the profile's
    ``settings:`` the same way, the spill directory relative to the data directory too.
    """
    bounds = duckdb_settings or DuckDBSettings.for_paths(paths)
    env = {
        "PMW_WAREHOUSE_PATH": os.path.relpath(paths.warehouse_path, paths.data_dir),
        "PMW_LAKE_DIR": os.path.relpath(paths.lake, paths.data_dir),
        DUCKDB_MEMORY_LIMIT_ENV: bounds.memory_limit,
        DUCKDB_TEMP_DIRECTORY_ENV: os.path.relpath(bounds.temp_directory, paths.data_dir),
        # DuckDB's threads setting; without one configured, DuckDB's own default (one per core), written out
        DUCKDB_THREADS_ENV: str(bounds.threads or os.cpu_count() or 1),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        # dbt must not phone home from a machine that only reaches package registries.
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    if threads is not None:
        env["PMW_DBT_THREADS"] = str(threads)
    return env


def dbt_process_env(
    paths: Paths, threads: int | None = None, duckdb_settings: DuckDBSettings | None = None
) -> dict[str, str]:
    """The whole environment of a dbt subprocess: this process's, plus dbt_env and what the supervisor needs
    (orchestration/dbt_supervisor.py: the interpreter to run it with and the real dbt). This process's is not
    changed. DuckDB creates its spill directory but not the folders above it: they are made here."""
    bounds = duckdb_settings or DuckDBSettings.for_paths(paths)
    bounds.temp_directory.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        **dbt_env(paths, threads, bounds),
        # dbt's working directory: dbt_env's relative paths resolve against it (the supervisor starts dbt there).
        DBT_WORKDIR_ENV: str(paths.data_dir),
        "PMW_DBT_SUPERVISOR_PYTHON": sys.executable,
        "PMW_DBT_EXECUTABLE": dbt_executable(),
    }


def dbt_vars_json(config: PipelineConfig) -> str:
    return json.dumps(config.dbt_vars(), sort_keys=True, separators=(",", ":"))


def dbt_executable() -> str:
    """The dbt next to this interpreter (the project's venv), whether or not the venv is on PATH."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


# What dagster-dbt starts as "dbt" in a run: a wrapper that kills dbt's process group when the run's process dies.
SUPERVISED_DBT = Path(__file__).resolve().parent / "bin" / "dbt-supervised"


def supervised_dbt_executable() -> str:
    """The dbt the pipeline's `dbt build` runs: dbt under orchestration/dbt_supervisor.py (needs dbt_process_env)."""
    return str(SUPERVISED_DBT)


def _project_changed_since(built: float) -> bool:
    return any(
        p.is_file() and p.stat().st_mtime > built
        for pattern in _PROJECT_INPUT_GLOBS
        for p in DBT_PROJECT_DIR.glob(pattern)
    )


def _parse_inputs(settings: Settings) -> dict[str, Any]:
    vars_json = dbt_vars_json(settings.config)
    return {
        "vars_sha256": hashlib.sha256(vars_json.encode()).hexdigest(),
        "env": dbt_env(settings.paths, duckdb_settings=DuckDBSettings.for_run(settings)),
        "dbt_executable": dbt_executable(),
    }


def manifest_is_current(settings: Settings) -> bool:
    """The manifest exists, is newer than every project file and was parsed with this run's vars and environment."""
    if not MANIFEST_PATH.exists() or not PARSE_INPUTS_PATH.exists():
        return False
    if _project_changed_since(MANIFEST_PATH.stat().st_mtime):
        return False
    return json.loads(PARSE_INPUTS_PATH.read_text(encoding="utf-8")) == _parse_inputs(settings)


def prepare_dbt_manifest(settings: Settings, *, force: bool = False) -> Path:
    """`dbt parse` the project as the run's build will see it, unless the manifest already is; return its path.

    Same vars (``--vars`` from the configuration), profile and target (the project's defaults, as the build uses)
    and environment (dbt_env of the run's data directory), so the partial-parse file it leaves in the target
    directory is one the build can use.

    Several processes may prepare at once (runs on other data directories, `make dev`, parallel tests): one parses
    under an exclusive lock, into a directory of its own, and moves the results into the target directory by
    rename, so a reader (dagster-dbt loading the manifest, copying the partial-parse file) never sees half a file.
    """
    if not force and manifest_is_current(settings):
        return MANIFEST_PATH
    TARGET_DIR.mkdir(parents=True, exist_ok=True)
    with open(TARGET_DIR / ".prepare.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and manifest_is_current(settings):  # prepared by another process while this one waited
            return MANIFEST_PATH
        _parse_into_target(settings)
    return MANIFEST_PATH


def _parse_into_target(settings: Settings) -> None:
    parse_dir = Path(tempfile.mkdtemp(prefix=".parse-", dir=TARGET_DIR))
    try:
        existing_state = TARGET_DIR / PARTIAL_PARSE_FILE
        if existing_state.exists():  # start from the last parse: dbt then re-parses only what changed
            shutil.copyfile(existing_state, parse_dir / PARTIAL_PARSE_FILE)
        proc = subprocess.run(
            [
                dbt_executable(),
                "parse",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--vars",
                dbt_vars_json(settings.config),
            ],
            env={
                **dbt_process_env(settings.paths, duckdb_settings=DuckDBSettings.for_run(settings)),
                "DBT_TARGET_PATH": str(parse_dir),
                "DBT_LOG_PATH": str(parse_dir),
            },
            # Parsing opens neither the warehouse nor the lake (their relative paths are only text here), and the
            # data directory may not exist yet (`pmw prepare-dbt` before any run): parse from the project.
            cwd=DBT_PROJECT_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not (parse_dir / MANIFEST_PATH.name).exists():
            raise DbtParseError(f"dbt parse failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
        (parse_dir / PARSE_INPUTS_PATH.name).write_text(json.dumps(_parse_inputs(settings), sort_keys=True), "utf-8")
        # The inputs record last: until it is replaced, manifest_is_current compares against the previous parse's.
        for name in (PARTIAL_PARSE_FILE, MANIFEST_PATH.name, PARSE_INPUTS_PATH.name):
            if (parse_dir / name).exists():
                os.replace(parse_dir / name, TARGET_DIR / name)
    finally:
        shutil.rmtree(parse_dir, ignore_errors=True)


def prepared_manifest_path() -> Path:
    """The manifest the definitions load; a named error (not dagster-dbt's) when nobody prepared it."""
    if not MANIFEST_PATH.exists():
        raise ManifestMissingError(
            f"no dbt manifest at {MANIFEST_PATH}: prepare it before loading the Dagster definitions "
            "(`pmw prepare-dbt`; `make dev` and `pmw run` do it)"
        )
    return MANIFEST_PATH


def mart_models(manifest_path: Path = MANIFEST_PATH) -> list[str]:
    """Names of the dbt models that land in the `marts` schema: what publish copies and what gates guard."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
    )
