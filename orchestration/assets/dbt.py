"""The dbt project as Dagster assets; dbt tests become asset checks. One `dbt build` per run (fixed cost ~3 s).

A run whose build inputs are those of the last successful build (orchestration/build_state.py) builds nothing: the
step yields no output, so no dbt asset is recorded as materialised, and Dagster skips the mart gates, the portfolio
scoring and publish, which depend on them. The step's log and the run's summary say which build it relied on.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from orchestration.build_state import build_inputs, record_build_started, record_skip, unchanged_build
from orchestration.dbt_cli import DbtCli, dbt_process_env, dbt_vars_json, prepare_dbt_manifest, prepared_manifest_path
from orchestration.resources import DUCKDB_POOL, PROGRESS, PmwSettings, dbt_project


class PmwDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # dbt sources are the lake tables the ingest assets produce: ("analytics", "events") -> lake/analytics_events
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["lake", f"{dbt_resource_props['source_name']}_{dbt_resource_props['name']}"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # models/<layer>/... -> group "staging" | "intermediate" | "marts"; seeds are reference data.
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


@dbt_assets(
    manifest=prepared_manifest_path(),
    project=dbt_project,
    dagster_dbt_translator=PmwDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    pool=DUCKDB_POOL,
)
def product_metrics_dbt(context: dg.AssetExecutionContext, dbt: DbtCli, pmw: PmwSettings):
    # Normally a no-op (`pmw run` / `make dev` prepared it); re-parses only if this run's vars or data directory
    # differ from the prepared manifest's, so that the build below can parse partially.
    prepare_dbt_manifest(pmw)
    inputs = build_inputs(pmw)
    # Only a build of the whole project can stand for tonight's; a subset chosen in the UI always runs.
    if not context.is_subset:
        unchanged, reason = unchanged_build(pmw, inputs)
        if unchanged is not None:
            record_skip(pmw.paths, context.run_id, unchanged)
            PROGRESS.info(f"dbt: {unchanged.statement()}")
            return
        PROGRESS.info(f"dbt: building ({reason})")
    # From here until publish succeeds the recorded build is incomplete: a run that stops midway never skips.
    record_build_started(pmw.paths, context.run_id, inputs)
    # Unit tests check SQL logic on fixed inputs: they run in CI (tests/unit/test_dbt_unit_tests.py), not on
    # production data, as dbt recommends; data tests run here and become asset checks.
    args = ["build", "--exclude", "resource_type:unit_test", "--vars", dbt_vars_json(pmw.config)]
    yield from dbt.cli_with_env(args, env=dbt_process_env(pmw.paths), context=context).stream()


defs = dg.Definitions(assets=[product_metrics_dbt])
