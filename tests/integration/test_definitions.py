"""The Dagster code location: the whole graph loads with groups and descriptions; sensor, schedule and pools.

The definitions need the dbt manifest prepared first (as `pmw run` and `make dev` do); loading them does no other
work: no dbt parse, no directory, no configuration read, no environment write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from core.config import load_config
from core.settings import PROJECT_ROOT, Paths, Settings, build_settings
from orchestration.dbt_cli import prepare_dbt_manifest

# The manifest @dbt_assets reads when the definitions module is imported (below, after this).
prepare_dbt_manifest(build_settings())

from orchestration.definitions import defs  # noqa: E402
from orchestration.resources import DUCKDB_POOL  # noqa: E402


def test_every_asset_has_a_group_and_a_description():
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    groups = {k.to_user_string(): graph.get(k).group_name for k in keys}
    assert {"ingest", "staging", "intermediate", "marts", "publish"} <= set(groups.values())
    assert groups["published/marts"] == "publish"
    assert groups["marts/fct_funnel_conversion"] == "marts"
    assert groups["raw/analytics"] == "ingest"
    missing = [k.to_user_string() for k in keys if not (graph.get(k).description or "").strip()]
    assert missing == []


def test_publish_depends_on_every_mart_and_the_lake_feeds_dbt():
    graph = defs.resolve_asset_graph()
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert marts <= graph.get(dg.AssetKey(["published", "marts"])).parent_keys
    stg = graph.get(dg.AssetKey(["staging", "stg_analytics__events"]))
    assert dg.AssetKey(["lake", "analytics_events"]) in stg.parent_keys


def test_gates_are_blocking_checks_and_duckdb_writers_share_one_pool():
    checks = {
        spec.name: spec for assets_def in defs.resolve_asset_graph().assets_defs for spec in assets_def.check_specs
    }
    for name in ("raw_analytics_events_gate", "fct_funnel_conversion_gate", "fct_retention_cohorts_gate"):
        assert checks[name].blocking, name
    job = defs.resolve_job_def("pmw_pipeline")
    pools = {node.name: node.definition.pool for node in job.graph.node_dict.values()}
    assert pools["product_metrics_dbt"] == DUCKDB_POOL
    assert pools["published__marts"] == DUCKDB_POOL
    assert pools["marts__fct_funnel_conversion_fct_funnel_conversion_gate"] == DUCKDB_POOL


def test_nightly_schedule_and_sensors():
    schedule = defs.resolve_schedule_def("nightly_pipeline")
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.job_name == "pmw_pipeline"
    assert defs.resolve_sensor_def("landing_sensor").job_name == "pmw_pipeline"
    assert defs.resolve_sensor_def("run_failure_alert") is not None


@pytest.mark.slow
def test_workspace_loads_with_the_dagster_cli(tmp_path):
    """What `dagster dev -w workspace.yaml` loads, validated by Dagster's own CLI in a fresh process."""
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(PROJECT_ROOT / "workspace.yaml")],
        cwd=tmp_path,  # paths resolve from the files, not from the working directory
        env={"PATH": "/usr/bin:/bin", "PMW_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_run_failure_sensor_records_the_failed_run(tmp_path):
    from orchestration.sensors import run_failure_alert

    @dg.op
    def explode():
        raise RuntimeError("boom: the warehouse file is locked")

    @dg.job(name="pmw_pipeline")
    def failing_job():
        explode()

    instance = dg.DagsterInstance.ephemeral()
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"pmw": Settings(paths=Paths(tmp_path / "data").ensure(), config=load_config())},
    ).for_run_failure()
    run_failure_alert(context)
    records = [json.loads(line) for line in (tmp_path / "data" / "runs" / "failures.jsonl").read_text().splitlines()]
    assert [r["run_id"] for r in records] == [result.run_id]
    assert records[0]["failed_steps"] == ["explode"]


def test_the_pmw_resource_builds_the_settings_once_from_its_config(tmp_path):
    config = tmp_path / "pmw.yml"
    config.write_text((PROJECT_ROOT / "config" / "pmw.yml").read_text(encoding="utf-8"), encoding="utf-8")
    resource = defs.resources["pmw"]
    with dg.build_resources(
        {"pmw": resource},
        resource_config={"pmw": {"config": {"data_dir": str(tmp_path / "d"), "config_path": str(config)}}},
    ) as built:
        settings = built.pmw
    assert settings.paths.data_dir == (tmp_path / "d").resolve() and settings.paths.landing.is_dir()
    assert settings.config.path == config.resolve()


def test_loading_the_definitions_does_no_work(tmp_path):
    """A fresh interpreter imports the code location: no directory appears, the environment is unchanged, and
    Great Expectations is not imported (~10 s under load: the gates load it when one validates something)."""
    data_dir = tmp_path / "never-created"
    probe = (
        "import os, sys, json; before = dict(os.environ); import orchestration.definitions; "
        "print(json.dumps([dict(os.environ) == before, 'great_expectations' in sys.modules]))"
    )
    env = {**os.environ, "PMW_DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[true, false]"
    assert not data_dir.exists()


def test_every_gate_module_is_named_in_gate_names():
    """The checks are defined from expectations.GATE_NAMES without loading the gates: the same names, each the
    name of its module."""
    from expectations import GATE_NAMES, GATES

    assert sorted(GATES) == sorted(GATE_NAMES)
    assert len(set(GATE_NAMES)) == len(GATE_NAMES)
    gate_modules = {p.stem for p in (PROJECT_ROOT / "expectations").glob("*.py")} - {
        "__init__",
        "runner",
        "volume",
        "lake_rules",
    }
    assert gate_modules == set(GATE_NAMES)


def test_a_partial_build_leaves_exactly_the_models_dbt_does_not_select_in_dependency_order():
    """What orchestration/assets/dbt.py yields as left as built when only analytics changed: the models outside
    dbt's `source:analytics+` (read here from the manifest's child map, as dbt selects), before any it builds."""
    from orchestration.assets.dbt import left_as_built_outputs, product_metrics_dbt
    from orchestration.build_state import BuildScope
    from orchestration.dbt_cli import MANIFEST_PATH

    scope = BuildScope(("analytics",), ("jira", "feedback", "billing", "marketing"), "1" * 36)
    left = left_as_built_outputs(product_metrics_dbt, scope)

    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    children, selected = manifest["child_map"], set()
    stack = [key for key, source in manifest["sources"].items() if source["source_name"] == "analytics"]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in selected:
                selected.add(child)
                stack.append(child)
    selected_names = {node.split(".")[-1] for node in selected if node.startswith("model.")}
    keys = product_metrics_dbt.keys_by_output_name
    assert {keys[name].path[-1] for name in set(keys) - set(left)} == selected_names
    assert {"stg_analytics__events", "fct_funnel_conversion", "fct_active_users"} <= selected_names
    left_models = [keys[name].path[-1] for name in left]
    assert {"stg_jira__issues", "fct_issue_cycle_times", "country_names"} <= set(left_models)
    # Dependency order: every model comes after the models it reads.
    position = {keys[name]: i for i, name in enumerate(left)}
    for key, i in position.items():
        assert all(position[d] < i for d in product_metrics_dbt.asset_deps[key] if d in position), key


@pytest.mark.parametrize("sources", [("analytics",), ("jira",), ("feedback",), ("billing",), ("marketing",)])
def test_a_night_planned_for_some_sources_holds_exactly_what_dbt_selects_for_them(sources):
    """The job a planned partial night runs (pmw/pipeline.py): the changed sources' ingest and raw gates, the models
    and data tests dbt's `source:<name>+` selects (read here from the manifest's child map, as dbt selects), the
    gates and volume checks of what it builds, the portfolio scoring and publish; nothing of the other sources."""
    from orchestration.assets.dbt import product_metrics_dbt
    from orchestration.build_state import BuildScope
    from orchestration.dbt_cli import MANIFEST_PATH
    from pmw.pipeline import _planned_job

    others = tuple(s for s in ("analytics", "jira", "feedback", "billing", "marketing") if s not in sources)
    scope = BuildScope(sources, others, "1" * 36)
    job = _planned_job(defs.resolve_job_def("pmw_pipeline"), scope)  # builds: no dependency cycle in the subset

    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    children, selected = manifest["child_map"], set()
    stack = [key for key, source in manifest["sources"].items() if source["source_name"] in sources]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in selected:
                selected.add(child)
                stack.append(child)
    models = {node.split(".")[-1] for node in selected if node.startswith(("model.", "seed.", "snapshot."))}
    tests = {node for node in selected if node.startswith("test.") and not node.startswith("test.unit")}

    dbt_keys = set(product_metrics_dbt.keys)
    planned_assets = set(job.asset_layer.selected_asset_keys)
    assert {key.path[-1] for key in planned_assets & dbt_keys} == models
    checks_by_test = {
        spec.metadata["dagster_dbt/unique_id"]: spec.key
        for spec in product_metrics_dbt.check_specs
        if spec.metadata.get("dagster_dbt/unique_id") in tests
    }
    planned_checks = set().union(*(data.assets_def.check_keys for data in job.asset_layer.data))
    dbt_checks = {spec.key for spec in product_metrics_dbt.check_specs}
    # Every test dbt runs with the part is a selected check (an unselected one would only be observed).
    assert planned_checks & dbt_checks == set(checks_by_test.values())
    assert len(checks_by_test) == len(tests)
    raw = {key.path[-1] for key in planned_assets if key.path[0] == "raw"}
    assert raw == set(sources)
    assert dg.AssetKey(["published", "marts"]) in planned_assets
    assert dg.AssetKey(["marts", "fct_portfolio_scores"]) in planned_assets


def test_a_night_where_nothing_landed_runs_the_ingest_steps_of_the_whole_job_without_loading_dbt(tmp_path):
    """orchestration/jobs.py ``ingest_only_job``: the same steps as the whole job's ingest and raw gates, resolved in
    a fresh interpreter without dagster-dbt, dbt-core or Great Expectations."""
    from orchestration.assets.ingest import LAKE_ASSETS, RAW_ASSETS
    from orchestration.checks.gates import RAW_GATE_CHECKS

    assets = {key for asset in (*RAW_ASSETS.values(), *LAKE_ASSETS.values()) for key in asset.keys}
    checks = {key for check in RAW_GATE_CHECKS for key in check.check_keys}
    whole = defs.resolve_job_def("pmw_pipeline").get_subset(asset_selection=assets, asset_check_selection=checks)

    probe = (
        "import sys, json; from orchestration.jobs import ingest_only_job; job = ingest_only_job(); "
        "print(json.dumps([job.name, sorted(job.graph.node_dict), sorted(m for m in ('dagster_dbt', 'dbt', "
        "'great_expectations') if m in sys.modules)]))"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    name, steps, loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert name == "pmw_pipeline"
    assert steps == sorted(whole.graph.node_dict)
    assert loaded == []
