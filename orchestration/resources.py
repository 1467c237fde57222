"""Resources shared by every asset: the run's settings (data directory + configuration) and the dbt CLI.

Nothing here does work at import: the settings are built when a run (or a sensor evaluation) initialises the
``pmw`` resource, from its resource config or else the environment, once; `pmw run` passes the settings it already
built instead. The dbt manifest is prepared before the definitions load (orchestration/dbt_cli.py).
"""

import dagster as dg
from dagster_dbt import DbtProject

from core.settings import DBT_PROJECT_DIR, Settings, build_settings
from orchestration.dbt_cli import DbtCli, dbt_executable

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
    },
    description="The run's data directory and its configuration, parsed and validated once when the run starts.",
)
def pmw_settings(context: dg.InitResourceContext) -> Settings:
    settings = build_settings(context.resource_config["data_dir"], context.resource_config["config_path"])
    settings.paths.ensure()
    return settings


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

defs = dg.Definitions(
    resources={
        "pmw": pmw_settings,
        "dbt": DbtCli(project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()),
    }
)
