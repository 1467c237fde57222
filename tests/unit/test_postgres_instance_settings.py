"""Choosing the instance's storage: $DAGSTER_PG_URL selects config/dagster-postgres.yaml when the instance is created.

The server itself is exercised by tests/scenarios/test_postgres_instance.py; these need no PostgreSQL.
"""

from __future__ import annotations

import pytest
import yaml

from core.settings import Paths
from orchestration import instance as instance_module
from orchestration.instance import (
    INSTANCE_TEMPLATE,
    POSTGRES_INSTANCE_TEMPLATE,
    InstanceSettingsError,
    open_instance,
    prepare_dagster_home,
    stores_in_postgres,
)

PG_URL = "postgresql+psycopg2://ops:s3cret@pg.example:6543/warehouse_runs"


def _settings(path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_postgres_template_reads_the_url_from_the_environment_and_keeps_the_sqlite_template_s_settings():
    postgres, sqlite = _settings(POSTGRES_INSTANCE_TEMPLATE), _settings(INSTANCE_TEMPLATE)
    assert postgres.pop("storage") == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    assert "storage" not in sqlite  # SQLite under the instance directory, Dagster's default layout
    # ... stored through kept engines (orchestration/instance_storage.py); PostgreSQL's storage is named, not a default.
    assert sqlite.pop("instance_class") == {"module": "orchestration.instance_storage", "class": "DataDirInstance"}
    assert postgres == sqlite  # the run queue, the duckdb_writer pool, telemetry


def test_dagster_pg_url_creates_the_instance_on_postgres_and_its_absence_on_sqlite(tmp_path):
    on_postgres = prepare_dagster_home(Paths(tmp_path / "a"), environ={"DAGSTER_PG_URL": PG_URL})
    assert (on_postgres / "dagster.yaml").read_bytes() == POSTGRES_INSTANCE_TEMPLATE.read_bytes()
    assert stores_in_postgres(on_postgres / "dagster.yaml")
    assert PG_URL not in (on_postgres / "dagster.yaml").read_text(encoding="utf-8")

    on_sqlite = prepare_dagster_home(Paths(tmp_path / "b"), environ={"DAGSTER_PG_URL": ""})
    assert (on_sqlite / "dagster.yaml").read_bytes() == INSTANCE_TEMPLATE.read_bytes()
    assert not stores_in_postgres(on_sqlite / "dagster.yaml")


def test_an_instance_created_on_sqlite_is_not_silently_kept_once_dagster_pg_url_is_set(tmp_path):
    paths = Paths(tmp_path / "data")
    home = prepare_dagster_home(paths, environ={})
    with pytest.raises(InstanceSettingsError, match=r"DAGSTER_PG_URL is set, but .*dagster\.yaml keeps"):
        prepare_dagster_home(paths, environ={"DAGSTER_PG_URL": PG_URL})
    assert (home / "dagster.yaml").read_bytes() == INSTANCE_TEMPLATE.read_bytes()  # left as it was


def test_a_deployment_s_own_postgres_settings_are_kept(tmp_path):
    paths = Paths(tmp_path / "data")
    home = paths.data_dir / "dagster_home"
    home.mkdir(parents=True)
    own = "event_log_storage:\n  module: dagster_postgres.event_log\n  class: PostgresEventLogStorage\n"
    (home / "dagster.yaml").write_text(own, encoding="utf-8")
    assert prepare_dagster_home(paths, environ={"DAGSTER_PG_URL": PG_URL}) == home
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == own


@pytest.mark.parametrize(
    ("url", "named"),
    [("postgresql://pmw@db:5432/d", "not postgresql://"), ("postgres://pmw@db/d", "not postgres://"), ("db", "(none)")],
)
def test_a_url_without_the_psycopg2_driver_is_refused_before_anything_is_created(tmp_path, url, named):
    paths = Paths(tmp_path / "data")
    with pytest.raises(InstanceSettingsError, match=r"must start with postgresql\+psycopg2://") as raised:
        prepare_dagster_home(paths, environ={"DAGSTER_PG_URL": url})
    assert named in str(raised.value)
    assert not (paths.data_dir / "dagster_home" / "dagster.yaml").exists()


def test_an_instance_on_postgres_without_the_postgres_extra_names_the_extra(tmp_path, monkeypatch):
    real_find_spec = instance_module.importlib.util.find_spec
    monkeypatch.setattr(
        instance_module.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "dagster_postgres" else real_find_spec(name, *args),
    )
    with pytest.raises(InstanceSettingsError, match=r"dagster-postgres is not installed: .*\[postgres\]"):
        open_instance(Paths(tmp_path / "data"), environ={"DAGSTER_PG_URL": PG_URL})
