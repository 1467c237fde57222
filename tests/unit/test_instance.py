"""One Dagster instance per data directory ($DAGSTER_HOME when set), seeded from the repository's settings."""

from __future__ import annotations

import os
import time

import dagster as dg
import yaml

from core.settings import Paths
from orchestration import instance as instance_module
from orchestration.instance import (
    INSTANCE_TEMPLATE,
    dagster_home,
    fail_runs_of_dead_workers,
    open_instance,
    prepare_dagster_home,
)


def test_the_instance_lives_in_the_data_directory_unless_dagster_home_is_set(tmp_path):
    paths = Paths(tmp_path / "data")
    assert dagster_home(paths, environ={}) == tmp_path / "data" / "dagster_home"
    assert dagster_home(paths, environ={"DAGSTER_HOME": str(tmp_path / "dh")}) == (tmp_path / "dh").resolve()


def test_the_instance_queues_runs_one_at_a_time_and_keeps_a_deployment_s_own_settings(tmp_path):
    paths = Paths(tmp_path / "data")
    home = prepare_dagster_home(paths, environ={})
    settings = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8"))
    assert settings["concurrency"]["pools"] == {"default_limit": 1}
    assert settings["concurrency"]["runs"]["max_concurrent_runs"] == 1
    assert settings["concurrency"]["runs"]["tag_concurrency_limits"] == [
        {"key": "pmw/run_queue", "value": "pipeline", "limit": 1}
    ]
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    prepare_dagster_home(paths, environ={})
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == "telemetry:\n  enabled: false\n"
    assert INSTANCE_TEMPLATE.read_text(encoding="utf-8") != "telemetry:\n  enabled: false\n"


def test_runs_recorded_in_it_are_there_for_the_next_process(tmp_path):
    paths = Paths(tmp_path / "data")

    @dg.op
    def hello():
        return 1

    @dg.job
    def tiny():
        hello()

    with open_instance(paths, environ={}) as instance:
        run_id = tiny.execute_in_process(instance=instance).run_id
    with open_instance(paths, environ={}) as instance:
        assert [r.run_id for r in instance.get_runs()] == [run_id]


def _running_run(instance: dg.DagsterInstance, run_id: str, pid: int | None) -> None:
    from dagster._core.events import EngineEventData
    from dagster._core.storage.dagster_run import DagsterRun

    run = instance.add_run(DagsterRun(job_name="pmw_pipeline", run_id=run_id, status=dg.DagsterRunStatus.STARTED))
    if pid is not None:
        instance.report_engine_event(f"Executing steps in process (pid: {pid}).", run, EngineEventData.in_process(pid))


def _a_pid_no_process_has() -> int:
    taken = {int(name) for name in os.listdir("/proc") if name.isdigit()}
    return next(pid for pid in range(4_000_000, 3_000_000, -1) if pid not in taken)


def test_runs_whose_worker_died_are_failed_and_free_their_slots_live_and_unstarted_ones_are_kept(tmp_path):
    instance = open_instance(Paths(tmp_path / "data"), environ={})
    try:
        _running_run(instance, "dead", _a_pid_no_process_has())
        _running_run(instance, "alive", os.getpid())
        _running_run(instance, "not-started-yet", None)
        instance.event_log_storage.set_concurrency_slots("duckdb_writer", 1)
        instance.event_log_storage.claim_concurrency_slot("duckdb_writer", "dead", "step")
        assert instance.event_log_storage.get_concurrency_info("duckdb_writer").active_slot_count == 1

        assert fail_runs_of_dead_workers(instance) == ["dead"]

        status = {run.run_id: run.status for run in instance.get_runs()}
        assert status == {
            "dead": dg.DagsterRunStatus.FAILURE,
            "alive": dg.DagsterRunStatus.STARTED,
            "not-started-yet": dg.DagsterRunStatus.STARTED,
        }
        assert instance.event_log_storage.get_concurrency_info("duckdb_writer").active_slot_count == 0
        assert fail_runs_of_dead_workers(instance) == []  # nothing left to fail
    finally:
        instance.dispose()


def test_a_pid_reused_by_a_process_started_after_the_run_is_not_its_worker():
    assert instance_module._process_alive_since(os.getpid(), time.time())
    assert not instance_module._process_alive_since(os.getpid(), 0.0)  # this process started after 1970
