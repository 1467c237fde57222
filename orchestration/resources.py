"""Resources shared by every asset: the run's settings (data directory + configuration); the dbt CLI is
orchestration/dbt_resource.py's.

Nothing here does work at import: the settings are built when a run (or a sensor evaluation) initialises the
``pmw`` resource, from its resource config or else the environment, once; `pmw run` passes the settings it already
built instead (and holds the run lock itself). In a run launched by Dagster the resource also holds the data
directory's run lock for the whole run: the job runs in one process (orchestration/jobs.py), so the resource is
initialised once and torn down when the run ends, and the OS drops the lock if that process is killed.
The dbt manifest is prepared before the definitions load (orchestration/dbt_cli.py).
"""

import dagster as dg

from core.duckdb_connection import configure_duckdb
from core.settings import DEFAULT_LANDING_SETTLE_SECONDS, Settings, build_settings
from ingest.common.landing import require_landed_data
from ingest.common.locking import run_lock
from orchestration.run_records import settle_killed_run

# Every step that writes (or holds open) the working DuckDB file shares this pool; dagster_home/dagster.yaml
# limits it to one at a time. A reader blocks the writer in DuckDB, so read-only gate queries are in it too.
DUCKDB_POOL = "duckdb_writer"

# Progress lines of the pipeline's own steps. Through the python `dagster` logger (not context.log) they land in
# Dagster's event log and also reach `pmw run`'s terminal output.
PROGRESS = dg.get_dagster_logger("pmw")

# How assets, checks and sensors receive the run's settings: `pmw: PmwSettings`, then pmw.paths / pmw.config.
PmwSettings = dg.ResourceParam[Settings]


@dg.resource(
    config_schema={
        "data_dir": dg.Field(
            dg.Noneable(str), default_value=None, description="data directory (default: $PMW_DATA_DIR, else ./data)"
        ),
        "config_path": dg.Field(
            dg.Noneable(str),
            default_value=None,
            description="configuration file (default: $PMW_CONFIG, else config/pmw.yml)",
        ),
        "landing_settle_seconds": dg.Field(
            float,
            default_value=DEFAULT_LANDING_SETTLE_SECONDS,
            description="a landed file is read once its size and mtime have not changed for this long",
        ),
        "run_lock_wait_seconds": dg.Field(
            float,
            default_value=3600.0,
            description="how long a run waits for another run on the same data directory before it fails",
        ),
    },
    description=(
        "The run's data directory and its configuration, parsed and validated once when the run starts; in a run, "
        "also the data directory's run lock, held until the run ends."
    ),
)
def pmw_settings(context: dg.InitResourceContext):
    cfg = context.resource_config
    settings = build_settings(cfg["data_dir"], cfg["config_path"], landing_settle_seconds=cfg["landing_settle_seconds"])
    configure_duckdb(settings)  # every DuckDB this process opens for the run gets the configured bounds
    if context.dagster_run is None:
        # A sensor or schedule evaluation (or `make dev` starting up): the landing folders exist for exporters to
        # drop files into; no lock is held, and nothing is run.
        settings.paths.ensure()
        yield settings
        return
    # A mistyped data directory, or one where nothing was ever landed, fails the run before anything is created.
    require_landed_data(settings.paths)
    settings.paths.ensure()
    log = context.log.info if context.log is not None else None
    with run_lock(settings.paths, wait_seconds=cfg["run_lock_wait_seconds"], run=context.run_id, on_wait=log):
        settle_killed_run(settings.paths)
        yield settings


# The dbt CLI resource ("dbt") is orchestration/dbt_resource.py's: only the dbt asset needs dagster-dbt.
defs = dg.Definitions(resources={"pmw": pmw_settings})
