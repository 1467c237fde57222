"""The no-op night's decision (orchestration/build_state.py): skip only after a complete, published build whose
inputs are all unchanged; any change, an unfinished or failed build, a touched warehouse or another release builds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.config import load_config
from core.settings import SOURCES, Paths, Settings
from ingest.common.hashing import file_sha256
from ingest.common.lake import pending_dir
from ingest.common.manifest import manifest_source_dir
from orchestration import build_state
from orchestration.build_state import (
    build_inputs,
    build_scope_of_run,
    forget_built_definition,
    full_refresh_reason,
    partial_build_scope,
    read_last_build,
    record_build_failed,
    record_build_published,
    record_build_started,
    record_built_definition,
    record_skip,
    skip_of_run,
    unchanged_build,
)
from publish.release import PUBLICATION_RECORD

RUN = "11111111-aaaa-bbbb-cccc-000000000001"
NEXT_RUN = "22222222-aaaa-bbbb-cccc-000000000002"


def _publish(paths: Paths, release_id: str) -> None:
    paths.published.mkdir(parents=True, exist_ok=True)
    (paths.published / PUBLICATION_RECORD).write_text(json.dumps({"release_id": release_id, "run_id": RUN}))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A data directory after one complete run: a lake file, a warehouse file and the release BI reads."""
    paths = Paths(tmp_path / "data").ensure()
    events = paths.lake / "analytics" / "events"
    events.mkdir(parents=True)
    (events / f"{'a' * 64}.parquet").write_bytes(b"PAR1 one landed file")
    paths.warehouse_path.write_bytes(b"duckdb file")
    return Settings(paths=paths, config=load_config(), landing_settle_seconds=0)


def _complete_build(settings: Settings, run_id: str = RUN, release_id: str = "r1") -> dict[str, str]:
    """What a successful run records: the dbt asset before building, publish once the release is served."""
    inputs = build_inputs(settings)
    record_build_started(settings.paths, run_id, inputs)
    settings.paths.warehouse_path.write_bytes(b"duckdb file, built")  # dbt and the portfolio asset wrote it
    record_built_definition(settings.paths, run_id, inputs)  # the dbt asset, once `dbt build` succeeded
    _publish(settings.paths, release_id)
    assert record_build_published(settings.paths, run_id, release_id)
    return inputs


def test_an_unchanged_night_after_a_published_build_skips_and_says_which_build_stands(settings):
    _complete_build(settings)
    unchanged, reason = unchanged_build(settings, build_inputs(settings))
    assert unchanged is not None, reason
    assert (unchanged.run_id, unchanged.release_id) == (RUN, "r1")
    assert unchanged.statement().startswith("nothing landed since run 11111111; warehouse and publication unchanged")
    assert "(release r1)" in unchanged.statement()

    record_skip(settings.paths, NEXT_RUN, unchanged)
    assert skip_of_run(settings.paths, NEXT_RUN) == unchanged
    assert skip_of_run(settings.paths, RUN) is None  # the build's own run did not skip
    # A skip leaves the build standing: the night after may skip too.
    assert unchanged_build(settings, build_inputs(settings))[0] == unchanged


def test_no_record_or_an_unfinished_or_failed_build_never_skips(settings):
    assert unchanged_build(settings, build_inputs(settings)) == (None, "no successful build recorded")

    inputs = build_inputs(settings)
    record_build_started(settings.paths, RUN, inputs)  # dbt started; the run stopped before publish
    unchanged, reason = unchanged_build(settings, inputs)
    assert unchanged is None and "did not finish: building" in reason

    _complete_build(settings, NEXT_RUN, "r2")
    record_build_failed(settings.paths, NEXT_RUN, "the run ended not OK")  # a check failed after publish
    unchanged, reason = unchanged_build(settings, build_inputs(settings))
    assert unchanged is None and "did not finish: failed" in reason


def test_only_the_run_that_built_completes_the_record(settings):
    inputs = build_inputs(settings)
    record_build_started(settings.paths, RUN, inputs)
    _publish(settings.paths, "r1")
    # A publish on its own (another run, e.g. from the UI) does not vouch for a build it did not make.
    assert not record_build_published(settings.paths, NEXT_RUN, "r1")
    assert read_last_build(settings.paths)["status"] == "building"
    assert record_build_published(settings.paths, RUN, "r1")
    assert read_last_build(settings.paths)["status"] == "published"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("new_lake_file", "lake/analytics"),
        ("lake_file_rewritten", "lake/analytics"),
        ("dbt_vars", "config, dbt_vars"),
        ("dbt_model_edited", "dbt_project"),
        ("code_edited", "code"),
    ],
)
def test_a_change_to_any_build_input_builds(settings, monkeypatch, tmp_path, change, named):
    _complete_build(settings)
    events = settings.paths.lake / "analytics" / "events"
    if change == "new_lake_file":
        (events / f"{'b' * 64}.parquet").write_bytes(b"PAR1 a second landed file")
    elif change == "lake_file_rewritten":
        lake_file = events / f"{'a' * 64}.parquet"
        stat = lake_file.stat()
        os.utime(lake_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    elif change == "dbt_vars":
        config = settings.config
        funnels = [f.model_copy(update={"conversion_window_hours": 1}) for f in config.funnels]
        settings = Settings(
            paths=settings.paths, config=config.model_copy(update={"funnels": funnels}), landing_settle_seconds=0
        )
    else:
        # A copy of the project's files with one edited, standing in for the real ones.
        source = build_state.DBT_PROJECT_DIR if change == "dbt_model_edited" else build_state.REPO / "publish"
        copy = tmp_path / "copy"
        for path in source.rglob("*"):
            relative = path.relative_to(source)
            if path.is_file() and relative.parts[0] not in ("target", "logs") and "__pycache__" not in relative.parts:
                (copy / relative).parent.mkdir(parents=True, exist_ok=True)
                (copy / relative).write_bytes(path.read_bytes())
        if change == "dbt_model_edited":
            monkeypatch.setattr(build_state, "DBT_PROJECT_DIR", copy)
            edited = next(copy.glob("models/marts/**/*.sql"))
        else:
            monkeypatch.setattr(build_state, "REPO", tmp_path)
            monkeypatch.setattr(build_state, "CODE_DIRS", ("copy",))
            edited = copy / "release.py"
        # Recorded with the copy as it was, then the copy edited.
        _complete_build(settings, NEXT_RUN, "r2")
        edited.write_text(edited.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
    unchanged, reason = unchanged_build(settings, build_inputs(settings))
    assert unchanged is None
    assert reason.endswith(f": {named}"), reason


def test_a_touched_warehouse_or_another_served_release_builds(settings):
    _complete_build(settings)
    _publish(settings.paths, "r-other")  # BI was pointed at another release since
    assert unchanged_build(settings, build_inputs(settings)) == (None, "BI no longer reads the last build's release")

    _publish(settings.paths, "r1")
    settings.paths.warehouse_path.write_bytes(b"duckdb file, changed by hand")
    changed = (None, "the warehouse file changed since the last build")
    assert unchanged_build(settings, build_inputs(settings)) == changed


def test_an_unresolved_failed_landed_file_builds_so_publish_can_refuse_by_name(settings):
    _complete_build(settings)
    manifest = manifest_source_dir(settings.paths, "analytics")
    manifest.mkdir(parents=True, exist_ok=True)
    sha = "c" * 64
    (manifest / f"{sha}.json").write_text(
        json.dumps({"path": "analytics/broken.zip", "sha256": sha, "status": "failed", "error": "not a ZIP"})
    )
    unchanged, reason = unchanged_build(settings, build_inputs(settings))
    assert unchanged is None and reason == "landed files failed to load and are unresolved"


def test_pending_and_quarantined_files_and_the_manifest_are_not_build_inputs(settings):
    inputs = build_inputs(settings)
    for area in ("_pending", "_quarantine", "_manifest"):
        folder = settings.paths.lake / area / "analytics" / "events"
        folder.mkdir(parents=True)
        (folder / f"{'d' * 64}.parquet").write_bytes(b"PAR1 not read by dbt")
    assert build_inputs(settings) == inputs


def test_nothing_to_ingest_only_when_every_complete_landed_file_is_loaded_or_discarded_and_nothing_is_pending(
    settings,
):
    paths = settings.paths
    landed = paths.landing / "analytics" / "export.jsonl"
    landed.write_bytes(b'{"event": "signed_up"}\n')
    assert not build_state.nothing_to_ingest(paths, 0)  # never loaded

    manifest = manifest_source_dir(paths, "analytics")
    manifest.mkdir(parents=True, exist_ok=True)
    sha = file_sha256(landed)
    (manifest / f"{sha}.json").write_text(
        json.dumps({"path": "analytics/export.jsonl", "sha256": sha, "status": "loaded"})
    )
    assert build_state.nothing_to_ingest(paths, 0)
    # The same bytes under another name are an alias, not new data.
    (paths.landing / "analytics" / "export-again.jsonl").write_bytes(landed.read_bytes())
    assert build_state.nothing_to_ingest(paths, 0)

    pending = pending_dir(paths, "analytics", "events")
    pending.mkdir(parents=True)
    (pending / f"{'e' * 64}.parquet").write_bytes(b"PAR1 waiting for its gate")
    assert not build_state.nothing_to_ingest(paths, 0)
    (pending / f"{'e' * 64}.parquet").unlink()

    landed.write_bytes(b'{"event": "signed_up"}\n{"event": "report_created"}\n')  # re-exported, same name
    assert not build_state.nothing_to_ingest(paths, 0)


# Which part of the project a night builds (partial_build_scope): only the models downstream of the sources whose
# lake files changed, and only when nothing else did.


def _land_lake_file(settings: Settings, source: str, entity: str, name: str) -> None:
    folder = settings.paths.lake / source / entity
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name * 64}.parquet").write_bytes(b"PAR1 " + name.encode())


def test_new_lake_files_of_some_sources_build_only_those_sources_and_their_descendants(settings):
    _complete_build(settings)
    _land_lake_file(settings, "analytics", "events", "b")
    _land_lake_file(settings, "marketing", "spend", "c")
    inputs = build_inputs(settings)
    assert unchanged_build(settings, inputs)[0] is None

    scope, reason = partial_build_scope(settings, inputs)
    assert scope is not None, reason
    assert scope.changed_sources == ("analytics", "marketing")
    assert scope.unchanged_sources == ("jira", "feedback", "billing")
    assert scope.dbt_select == "source:analytics+ source:marketing+"
    assert scope.since_run_id == RUN
    # What was built and what was left, and by which run: the run's log and the summary print this.
    assert scope.statement() == (
        "built the models downstream of analytics, marketing (new lake files; dbt --select source:analytics+ "
        "source:marketing+); the models that read only jira, feedback, billing were left as run 11111111 built "
        "them (their lake files unchanged)"
    )

    record_build_started(settings.paths, NEXT_RUN, inputs, scope)
    assert build_scope_of_run(settings.paths, NEXT_RUN) == scope.to_dict()
    assert build_scope_of_run(settings.paths, RUN) is None
    # A partial build that published stands like a whole one: the next night with nothing new skips.
    settings.paths.warehouse_path.write_bytes(b"duckdb file, analytics and marketing rebuilt")
    _publish(settings.paths, "r2")
    assert record_build_published(settings.paths, NEXT_RUN, "r2")
    assert read_last_build(settings.paths)["scope"] == scope.to_dict()
    unchanged, reason = unchanged_build(settings, build_inputs(settings))
    assert unchanged is not None and unchanged.run_id == NEXT_RUN, reason


def test_a_whole_build_is_recorded_without_a_scope(settings):
    record_build_started(settings.paths, RUN, build_inputs(settings))
    assert read_last_build(settings.paths)["scope"] is None
    assert build_scope_of_run(settings.paths, RUN) is None


def test_a_new_lake_file_with_any_other_change_builds_everything_and_names_the_other_change(settings):
    _complete_build(settings)
    _land_lake_file(settings, "analytics", "events", "b")
    config = settings.config
    funnels = [f.model_copy(update={"conversion_window_hours": 1}) for f in config.funnels]
    changed = Settings(
        paths=settings.paths, config=config.model_copy(update={"funnels": funnels}), landing_settle_seconds=0
    )
    assert partial_build_scope(changed, build_inputs(changed)) == (None, "changed since run 11111111: config, dbt_vars")


def test_a_lake_file_outside_the_sources_folders_builds_everything(settings):
    _complete_build(settings)
    (settings.paths.lake / "reference").mkdir()
    (settings.paths.lake / "reference" / "rates.parquet").write_bytes(b"PAR1 not a source's")
    assert partial_build_scope(settings, build_inputs(settings)) == (
        None,
        "changed since run 11111111: lake/other",
    )


def test_every_source_changed_or_none_builds_everything(settings):
    _complete_build(settings)
    assert partial_build_scope(settings, build_inputs(settings)) == (
        None,
        "no source's lake files changed since run 11111111",
    )
    for source, letter in zip(SOURCES, "bcdef", strict=True):
        _land_lake_file(settings, source, "entity", letter)
    assert partial_build_scope(settings, build_inputs(settings)) == (
        None,
        "every source's lake files changed since run 11111111",
    )


def test_only_a_published_build_with_its_own_warehouse_and_release_is_built_on(settings):
    inputs = build_inputs(settings)
    assert partial_build_scope(settings, inputs) == (None, "no published build to build on")
    record_build_started(settings.paths, RUN, inputs)  # stopped before publish: its warehouse is half built
    _land_lake_file(settings, "analytics", "events", "b")
    assert partial_build_scope(settings, build_inputs(settings)) == (None, "no published build to build on")

    _complete_build(settings, NEXT_RUN, "r2")
    _land_lake_file(settings, "analytics", "events", "c")
    settings.paths.warehouse_path.write_bytes(b"duckdb file, changed by hand")
    assert partial_build_scope(settings, build_inputs(settings)) == (
        None,
        "the warehouse file changed since the last build",
    )

    _complete_build(settings, NEXT_RUN, "r3")
    _land_lake_file(settings, "analytics", "events", "d")
    _publish(settings.paths, "r-other")
    assert partial_build_scope(settings, build_inputs(settings)) == (
        None,
        "BI no longer reads the last build's release",
    )


def test_a_record_from_before_per_source_lake_digests_builds_everything(settings):
    _complete_build(settings)
    record = read_last_build(settings.paths)
    lake_inputs = [k for k in record["inputs"] if k.startswith("lake/")]
    record["inputs"] = {k: v for k, v in record["inputs"].items() if k not in lake_inputs} | {"lake": "0" * 64}
    (settings.paths.runs_dir / "last_build.json").write_text(json.dumps(record))
    scope, reason = partial_build_scope(settings, build_inputs(settings))
    assert scope is None and reason.startswith("changed since run 11111111: lake, lake/")


# What a run plans before it starts (planned_build_scope): the sources with new lake files or with something for
# ingest to load; a part only when build_state is sure of it, and confirmed after ingest (confirm_planned_scope).


def _land(settings: Settings, source: str, name: str, body: bytes) -> Path:
    landed = settings.paths.landing / source / name
    landed.parent.mkdir(parents=True, exist_ok=True)
    landed.write_bytes(body)
    return landed


def test_a_landed_file_not_loaded_yet_plans_a_build_of_its_source_only(settings):
    _complete_build(settings)
    _land(settings, "analytics", "day.jsonl", b'{"event": "signed_up"}\n')
    inputs = build_inputs(settings)
    # The lake has not changed yet (ingest runs in the run): the landing says what the run will load.
    assert partial_build_scope(settings, inputs)[0] is None

    planned, reason = build_state.planned_build_scope(settings, inputs)
    assert planned is not None, reason
    assert planned.changed_sources == ("analytics",) and planned.since_run_id == RUN
    assert build_state.BuildScope.from_tag(planned.to_tag()) == planned

    # After ingest: the source's lake changed, as planned.
    _land_lake_file(settings, "analytics", "events", "b")
    assert build_state.confirm_planned_scope(settings, build_inputs(settings), planned) is None


def test_a_planned_part_is_confirmed_only_while_nothing_else_changed(settings):
    _complete_build(settings)
    _land(settings, "analytics", "day.jsonl", b'{"event": "signed_up"}\n')
    planned, _reason = build_state.planned_build_scope(settings, build_inputs(settings))
    assert planned is not None
    # A planned source whose ingest loaded nothing is built again all the same (its models read unchanged inputs).
    assert build_state.confirm_planned_scope(settings, build_inputs(settings), planned) is None

    _land_lake_file(settings, "jira", "issues", "d")
    problem = build_state.confirm_planned_scope(settings, build_inputs(settings), planned)
    assert problem == "lake files of jira changed too"
    (settings.paths.lake / "jira" / "issues" / f"{'d' * 64}.parquet").unlink()

    settings.paths.warehouse_path.write_bytes(b"touched by someone else")
    assert build_state.confirm_planned_scope(settings, build_inputs(settings), planned) == (
        "the warehouse file changed since the last build"
    )


def test_files_still_settling_or_every_source_or_another_input_plan_the_whole_job(settings):
    _complete_build(settings)
    landed = _land(settings, "analytics", "day.jsonl", b'{"event": "signed_up"}\n')
    future = landed.stat().st_mtime + 3600  # written "now": not settled under a 60 s settle time
    os.utime(landed, (future, future))
    planned, reason = build_state.planned_build_scope(
        Settings(paths=settings.paths, config=settings.config, landing_settle_seconds=60), build_inputs(settings)
    )
    assert planned is None and reason == "landed files still settling in analytics"

    for source in SOURCES:
        _land(settings, source, "new.csv", f"{source}\n".encode())
    planned, reason = build_state.planned_build_scope(settings, build_inputs(settings))
    assert planned is None and reason.startswith("every source's lake files changed"), reason


def test_nothing_to_load_and_no_new_lake_file_plans_no_part(settings):
    _complete_build(settings)
    planned, reason = build_state.planned_build_scope(settings, build_inputs(settings))
    assert planned is None and reason.startswith("no source's lake files changed"), reason


def _with_funnel_window(settings: Settings, hours: int) -> Settings:
    funnels = [f.model_copy(update={"conversion_window_hours": hours}) for f in settings.config.funnels]
    config = settings.config.model_copy(update={"funnels": funnels})
    return Settings(paths=settings.paths, config=config, landing_settle_seconds=0)


def test_incremental_models_are_fully_refreshed_until_a_build_under_tonights_definition_succeeds(settings):
    # A first build (or one after a build that began refreshing and stopped) knows no definition: it refreshes.
    assert "no record of the definition" in full_refresh_reason(settings.paths, build_inputs(settings))
    inputs = _complete_build(settings)
    assert full_refresh_reason(settings.paths, inputs) is None
    # New lake files alone keep the definition: the incremental models build on their rows.
    _land_lake_file(settings, "analytics", "events", "b")
    assert full_refresh_reason(settings.paths, build_inputs(settings)) is None
    # A changed funnel with no new event would leave every stored period as the old window computed it.
    changed = _with_funnel_window(settings, 1)
    assert full_refresh_reason(changed.paths, build_inputs(changed)) == (
        "changed since the incremental models were built: dbt_vars"
    )
    # The refresh forgets the definition first: stopping midway and going back to the old vars still refreshes.
    forget_built_definition(settings.paths)
    assert full_refresh_reason(settings.paths, build_inputs(settings)) is not None
    record_built_definition(changed.paths, NEXT_RUN, build_inputs(changed))
    assert full_refresh_reason(changed.paths, build_inputs(changed)) is None
    assert full_refresh_reason(settings.paths, build_inputs(settings)) is not None


def test_no_part_is_built_while_a_full_refresh_is_due(settings):
    _complete_build(settings)
    forget_built_definition(settings.paths)  # e.g. a build published before the definition was recorded
    _land_lake_file(settings, "analytics", "events", "b")
    scope, reason = partial_build_scope(settings, build_inputs(settings))
    assert scope is None
    assert reason.startswith("a full refresh is due: no record of the definition"), reason
