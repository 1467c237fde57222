"""The landing sensor: one run request per tick carrying every new file, and none for files already requested."""

from __future__ import annotations

import json

import dagster as dg

from core.config import load_config
from core.settings import Paths, Settings
from ingest.analytics import ingest_analytics
from ingest.common.landing import file_sha256
from orchestration.assets.ingest import RAW_ASSETS
from orchestration.landing_watch import LandedFile, batch_run_key
from orchestration.sensors import landing_sensor

EVENTS_CSV = "id,event,user_id,timestamp\n{id},signed_up,u-{id},2024-01-10T10:00:00.000Z\n"


def _tick(resources, cursor=None):
    context = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), cursor=cursor, resources=resources)
    return list(landing_sensor(context)), context.cursor


def test_one_request_per_tick_for_a_landing_of_many_files_and_none_on_the_next_tick(tmp_path):
    paths = Paths(tmp_path / "data").ensure()
    resources = {"pmw": Settings(paths=paths, config=load_config())}
    landed = []
    for i in range(40):
        f = paths.landing / "analytics" / f"tracks_{i:02d}.csv"
        f.write_text(EVENTS_CSV.format(id=i), encoding="utf-8")
        landed.append(f)
    for i in range(3):
        f = paths.landing / "marketing" / f"spend_{i}.csv"
        f.write_text(f"date,channel,spend\n2024-01-0{i + 1},Events,{i + 10}\n", encoding="utf-8")
        landed.append(f)
    (paths.landing / "analytics" / ".partial-upload.csv").write_text("id,event\n", encoding="utf-8")  # ignored

    requests, cursor = _tick(resources)

    assert len(requests) == 1
    expected_key = batch_run_key(
        LandedFile(f.parent.name, f.relative_to(paths.landing).as_posix(), file_sha256(f)) for f in landed
    )
    assert requests[0].run_key == expected_key
    ops = requests[0].run_config["ops"]
    assert ops[RAW_ASSETS["analytics"].op.name]["config"]["files"] == [str(f) for f in landed[:40]]
    assert ops[RAW_ASSETS["marketing"].op.name]["config"]["files"] == [str(f) for f in landed[40:]]
    assert requests[0].tags["pmw/landed_files"] == "43"

    again, _ = _tick(resources, cursor)
    assert again == []


def test_the_run_key_names_the_batch_by_path_and_content(tmp_path):
    a = LandedFile("analytics", "analytics/a.csv", "1" * 64)
    b = LandedFile("analytics", "analytics/b.csv", "2" * 64)
    assert batch_run_key([a, b]) == batch_run_key([b, a])
    assert batch_run_key([a, b]) != batch_run_key([a, LandedFile("analytics", "analytics/b.csv", "3" * 64)])
    assert batch_run_key([a]) != batch_run_key([a, b])


def test_only_files_landed_since_the_last_request_make_the_next_one(tmp_path):
    paths = Paths(tmp_path / "data").ensure()
    resources = {"pmw": Settings(paths=paths, config=load_config())}
    first = paths.landing / "analytics" / "first.csv"
    first.write_text(EVENTS_CSV.format(id=1), encoding="utf-8")
    _, cursor = _tick(resources)

    second = paths.landing / "analytics" / "second.csv"
    second.write_text(EVENTS_CSV.format(id=2), encoding="utf-8")
    requests, cursor = _tick(resources, cursor)
    assert [r.run_config["ops"][RAW_ASSETS["analytics"].op.name]["config"]["files"] for r in requests] == [
        [str(second)]
    ]

    # Once loaded, the same bytes request nothing, whatever name they land under; the cursor forgets them.
    ingest_analytics(paths, load_config())
    (paths.landing / "analytics" / "copy.csv").write_bytes(first.read_bytes())
    requests, cursor = _tick(resources, cursor)
    assert requests == []
    assert json.loads(cursor)["requested"] == []


def test_a_cursor_of_the_per_file_sensor_is_read_as_its_hash_cache(tmp_path):
    paths = Paths(tmp_path / "data").ensure()
    resources = {"pmw": Settings(paths=paths, config=load_config())}
    f = paths.landing / "analytics" / "tracks.csv"
    f.write_text(EVENTS_CSV.format(id=1), encoding="utf-8")
    old_cursor = json.dumps({"analytics/tracks.csv": [f.stat().st_size, f.stat().st_mtime_ns, file_sha256(f)]})
    requests, _ = _tick(resources, old_cursor)
    assert len(requests) == 1
