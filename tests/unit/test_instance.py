"""One Dagster instance per data directory ($DAGSTER_HOME when set), seeded from the repository's settings."""

from __future__ import annotations

import dagster as dg
import yaml

from core.settings import Paths
from orchestration.instance import INSTANCE_TEMPLATE, dagster_home, open_instance, prepare_dagster_home


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
