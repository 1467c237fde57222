"""Resources shared by every asset: where the data lives and the product configuration; the dbt CLI."""

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from core.config import PipelineConfig, load_config
from core.settings import DBT_PROJECT_DIR, Paths, get_paths
from orchestration.dbt_cli import apply_dbt_env, dbt_executable, ensure_manifest

# Every step that writes (or holds open) the working DuckDB file shares this pool; dagster_home/dagster.yaml
# limits it to one at a time. A reader blocks the writer in DuckDB, so read-only gate queries are in it too.
DUCKDB_POOL = "duckdb_writer"

# Progress lines of the pipeline's own steps. Through the python `dagster` logger (not context.log) they land in
# Dagster's event log and also reach `pmw run`'s terminal output.
PROGRESS = dg.get_dagster_logger("pmw")


class PmwSettings(dg.ConfigurableResource):
    """Data directory and configuration file; both default to $PMW_DATA_DIR / $PMW_CONFIG, then the repo's."""

    data_dir: str | None = None
    config_path: str | None = None

    def paths(self) -> Paths:
        return get_paths(self.data_dir).ensure()

    def config(self) -> PipelineConfig:
        return load_config(self.config_path)


def _dbt_project() -> DbtProject:
    paths = get_paths()
    # The dbt profile reads these at parse time as well as at run time.
    apply_dbt_env(paths)
    ensure_manifest(paths)
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


dbt_project = _dbt_project()

defs = dg.Definitions(
    resources={
        "pmw": PmwSettings(),
        "dbt": DbtCliResource(
            project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
        ),
    }
)
