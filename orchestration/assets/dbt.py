"""The dbt project as Dagster assets; dbt tests become asset checks. One `dbt build` per run (fixed cost ~3 s).

A run whose build inputs are those of the last successful build (orchestration/build_state.py) builds nothing: the
step yields no output, so no dbt asset is recorded as materialised, and Dagster skips the mart gates, the portfolio
scoring and publish, which depend on them. The step's log and the run's summary say which build it relied on.

A run where only some sources' lake files changed builds only their models and everything downstream
(build_state.partial_build_scope: `dbt build --select source:<name>+`, their data tests included). The models
outside the selection are the tables the last build left, from inputs that did not change: the step yields them
as outputs with ``rebuilt: false`` and the run they were built by, so what depends on them (gates, portfolio,
publish) runs as after a whole build, and the log and the summary say what was built and what was left.

`pmw run` plans that part before the job starts (build_state.planned_build_scope, pmw/pipeline.py): the run holds
only the part's models and the data tests dbt runs with them (``planned_selection``) and carries the run tag
BUILD_SCOPE_TAG. The step then builds exactly that selection, after confirming that it is still tonight's whole
build (build_state.confirm_planned_scope), and yields no output for the models it leaves: they are not in the run.
"""

from collections.abc import Mapping
from graphlib import TopologicalSorter
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from orchestration import dbt_resource
from orchestration.build_state import (
    BUILD_SCOPE_TAG,
    BuildScope,
    build_inputs,
    confirm_planned_scope,
    forget_built_definition,
    full_refresh_reason,
    partial_build_scope,
    record_build_started,
    record_built_definition,
    record_skip,
    unchanged_build,
)
from orchestration.dbt_cli import dbt_process_env, dbt_vars_json, prepare_dbt_manifest, prepared_manifest_path
from orchestration.dbt_resource import DbtCli, dbt_project
from orchestration.resources import DUCKDB_POOL, PROGRESS, PmwSettings


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
    scope: BuildScope | None = None
    planned_tag = context.run.tags.get(BUILD_SCOPE_TAG)
    planned = BuildScope.from_tag(planned_tag) if planned_tag is not None else None
    if planned is not None:
        # A run planned before it started to build this part only (pmw/pipeline.py): its job holds only the
        # part's models and checks, so the part must still be tonight's whole build after ingest, or nothing runs.
        problem = confirm_planned_scope(pmw, inputs, planned)
        if problem is not None:
            raise PlannedScopeError(
                f"this run was planned to build only dbt --select {planned.dbt_select}, but {problem}: nothing "
                "was built; the next run plans again from what it finds"
            )
        scope = planned
        PROGRESS.info(f"dbt: {scope.statement()}")
    # Only a build of the whole project can stand for tonight's; a subset chosen in the UI always runs as chosen.
    elif not context.is_subset:
        unchanged, _reason = unchanged_build(pmw, inputs)
        if unchanged is not None:
            record_skip(pmw.paths, context.run_id, unchanged)
            PROGRESS.info(f"dbt: {unchanged.statement()}")
            return
        scope, scope_reason = partial_build_scope(pmw, inputs)
        PROGRESS.info(f"dbt: {scope.statement()}" if scope else f"dbt: building everything ({scope_reason})")
    # From here until publish succeeds the recorded build is incomplete: a run that stops midway never skips.
    record_build_started(pmw.paths, context.run_id, inputs, scope)
    # Unit tests check SQL logic on fixed inputs: they run in CI (tests/unit/test_dbt_unit_tests.py), not on
    # production data, as dbt recommends; data tests run here and become asset checks.
    args = ["build", "--exclude", "resource_type:unit_test", "--vars", dbt_vars_json(pmw.config)]
    refresh = full_refresh_reason(pmw.paths, inputs)
    if refresh is not None:
        # Never with a part: a part is built only when nothing but lake files changed since a recorded definition.
        if scope is not None:
            raise PlannedScopeError(f"a part of the project cannot be built while a full refresh is due: {refresh}")
        PROGRESS.info(f"dbt: --full-refresh ({refresh})")
        forget_built_definition(pmw.paths)
        args.append("--full-refresh")
    # A partial build in the whole job: the models outside the selection first, as outputs left as built (none of
    # them reads a model the selection builds, which would put it downstream of a changed source; Dagster wants a
    # multi-asset's outputs in dependency order). A planned run does not hold them at all.
    left = left_as_built_outputs(context.assets_def, scope) if scope is not None and planned is None else []
    yield from (left_as_built(output_name, scope) for output_name in left)
    selected = set(context.selected_output_names)
    invocation = dbt.cli_with_env(
        args,
        env=dbt_process_env(pmw.paths),
        context=context,
        select=scope.dbt_select if scope else None,
        planned_subset=planned is not None,
    )
    for event in invocation.stream():
        if isinstance(event, dg.Output) and (event.output_name in left or event.output_name not in selected):
            raise PartialBuildError(
                f"dbt --select {scope.dbt_select if scope else '(whole asset)'} built {event.output_name}, which "
                "reads no changed source"
            )
        yield event
    # stream() raised if dbt failed. After a whole build, or a part under an unchanged definition, every incremental
    # model holds rows of tonight's definition only; a subset chosen in the UI while a refresh is due refreshed only
    # its own models, so the next whole build refreshes again.
    if refresh is None or not context.is_subset:
        record_built_definition(pmw.paths, context.run_id, inputs)


class PlannedScopeError(RuntimeError):
    """The part of the project a run was planned to build no longer covers what changed (found after ingest)."""


class PartialBuildError(RuntimeError):
    """dbt's selection and the asset graph disagree on which models read the changed sources."""


def _reads_changed_source(upstream: dg.AssetKey, changed_sources: tuple[str, ...]) -> bool:
    # dbt sources are lake/<source>_<table> (PmwDbtTranslator)
    return upstream.path[0] == "lake" and upstream.path[-1].startswith(tuple(f"{s}_" for s in changed_sources))


def left_as_built_outputs(assets_def: dg.AssetsDefinition, scope: BuildScope) -> list[str]:
    """The selected outputs of the models `dbt build --select source:<changed>+` leaves out (those not downstream
    of a changed source in the asset graph: the same graph dbt selects on), in dependency order."""
    deps = assets_def.asset_deps
    own = set(assets_def.keys_by_output_name.values())
    order = TopologicalSorter({key: {d for d in deps.get(key, ()) if d in own} for key in own}).static_order()
    rebuilt: set[dg.AssetKey] = set()
    left: list[dg.AssetKey] = []
    for key in order:
        upstream = deps.get(key, set())
        if any(d in rebuilt or _reads_changed_source(d, scope.changed_sources) for d in upstream):
            rebuilt.add(key)
        else:
            left.append(key)
    output_names = {key: name for name, key in assets_def.keys_by_output_name.items()}
    return [output_names[key] for key in left]


def planned_selection(
    assets_def: dg.AssetsDefinition, scope: BuildScope
) -> tuple[set[dg.AssetKey], set[dg.AssetCheckKey]]:
    """What a run planned to build ``scope`` only selects of the dbt asset: the models `dbt build --select
    source:<changed>+` builds (those not left as built), and every data test dbt runs with them, i.e. each test
    that reads one of those models or a changed source (a relationship test on a model left as built that reads a
    rebuilt one included: unselected, its result would be logged as an observation and block nothing)."""
    left = {assets_def.keys_by_output_name[name] for name in left_as_built_outputs(assets_def, scope)}
    rebuilt = set(assets_def.keys) - left
    checks = {
        spec.key
        for spec in assets_def.check_specs
        if spec.asset_key in rebuilt
        or any(
            d.asset_key in rebuilt or _reads_changed_source(d.asset_key, scope.changed_sources)
            for d in spec.additional_deps
        )
    }
    return rebuilt, checks


def left_as_built(output_name: str, scope: BuildScope) -> dg.Output:
    """The output of a model this partial build leaves out: the table is the one the last build left (its inputs
    unchanged), recorded as such, so the steps that read it run as after a whole build."""
    return dg.Output(
        None,
        output_name=output_name,
        metadata={
            "rebuilt": False,
            "left_as_built_by_run": scope.since_run_id,
            "reason": f"reads none of {', '.join(scope.changed_sources)}, the only sources with new lake files",
        },
    )


defs = dg.Definitions.merge(dg.Definitions(assets=[product_metrics_dbt]), dbt_resource.defs)
