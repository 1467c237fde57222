"""ingest/common: hashing, landing listing, atomic writes, manifest, archive safety, the shared loop and writer."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from core.settings import Paths, get_paths
from ingest.common import atomic, row_writer
from ingest.common.archive import ArchiveError, ArchiveLimits, check_member_name, iter_extracted_members
from ingest.common.atomic import atomic_output, atomic_write_text, remove_stale_temp_files
from ingest.common.duplicates import DuplicateGroup, find_duplicates
from ingest.common.hashing import file_sha256
from ingest.common.landing import LandingPathError, check_landed_file, list_landed_files
from ingest.common.loop import SourceSpec, ingest_files
from ingest.common.manifest import ManifestError, read_manifest, read_manifest_record, write_manifest_record
from ingest.common.parsed import ParsedFile
from ingest.common.report import IngestReport
from ingest.common.row_writer import RowSource, RowStage


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


def test_file_sha256_streams_to_the_same_digest_as_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # spans several read chunks
    target = tmp_path / "blob.bin"
    target.write_bytes(data)
    assert file_sha256(target) == hashlib.sha256(data).hexdigest()


def test_listing_skips_symlinks_hidden_and_in_progress_names(paths: Paths, tmp_path: Path) -> None:
    root = paths.landing / "analytics"
    (root / "2024" / "03").mkdir(parents=True)
    (root / "2024" / "03" / "export.zip").write_bytes(b"x")
    (root / "top.jsonl").write_text("{}\n")
    for skipped in (".hidden.jsonl", "upload.tmp", "big.json.gz.part", "dl.crdownload"):
        (root / skipped).write_text("x")
    (root / ".sync").mkdir()
    (root / ".sync" / "inner.jsonl").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jsonl").write_text("x")
    (root / "link.jsonl").symlink_to(outside / "secret.jsonl")
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)

    found = [p.relative_to(paths.landing).as_posix() for p in list_landed_files(paths, "analytics")]

    assert found == ["analytics/2024/03/export.zip", "analytics/top.jsonl"]


def test_check_landed_file_refuses_escapes_symlinks_and_other_sources(paths: Paths, tmp_path: Path) -> None:
    root = paths.landing / "analytics"
    good = root / "ok.jsonl"
    good.write_text("{}\n")
    outside = tmp_path / "evil.jsonl"
    outside.write_text("x")
    (root / "link.jsonl").symlink_to(outside)

    assert check_landed_file(paths, "analytics", good) == good
    assert check_landed_file(paths, "analytics", Path("analytics/ok.jsonl")) == good
    with pytest.raises(LandingPathError, match="not inside"):
        check_landed_file(paths, "analytics", root / ".." / ".." / ".." / "evil.jsonl")
    with pytest.raises(LandingPathError, match="is a symlink"):
        check_landed_file(paths, "analytics", root / "link.jsonl")
    with pytest.raises(LandingPathError, match="not inside"):
        check_landed_file(paths, "analytics", paths.landing / "jira" / "x.json")
    with pytest.raises(LandingPathError, match="unknown source"):
        check_landed_file(paths, "nope", good)


def test_atomic_output_leaves_no_final_and_no_temp_file_on_error(tmp_path: Path) -> None:
    final = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError, match="boom"), atomic_output(final) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_crash_before_rename_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    final = tmp_path / "record.json"
    atomic_write_text(final, "old")

    def crash(src: Path, dst: Path) -> None:
        raise OSError("killed before rename")

    monkeypatch.setattr(atomic, "_replace", crash)
    with pytest.raises(OSError, match="killed before rename"):
        atomic_write_text(final, "new")
    assert final.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_remove_stale_temp_files_removes_only_temp_names(tmp_path: Path) -> None:
    (tmp_path / ".abc.parquet.1a2b3c.tmp").write_bytes(b"partial")  # what a killed writer leaves
    (tmp_path / "abc.parquet").write_bytes(b"final")
    removed = remove_stale_temp_files(tmp_path)
    assert [p.name for p in removed] == [".abc.parquet.1a2b3c.tmp"]
    assert [p.name for p in tmp_path.iterdir()] == ["abc.parquet"]


def _record(sha: str, path: str, started: str) -> dict:
    return {"source": "analytics", "sha256": sha, "path": path, "status": "loaded", "started_at": started}


def test_manifest_round_trip_and_ordering(paths: Paths) -> None:
    write_manifest_record(paths, _record("b" * 64, "analytics/b.jsonl", "2024-01-02T00:00:00Z"))
    write_manifest_record(
        paths, _record("a" * 64, "analytics/a.jsonl", "2024-01-03T00:00:00Z") | {"aliases": ["z", "y"]}
    )
    write_manifest_record(paths, {**_record("c" * 64, "jira/c.json", "2024-01-01T00:00:00Z"), "source": "jira"})

    assert [r["path"] for r in read_manifest(paths, "analytics")] == ["analytics/b.jsonl", "analytics/a.jsonl"]
    assert [r["source"] for r in read_manifest(paths)] == ["analytics", "analytics", "jira"]
    record = read_manifest_record(paths, "analytics", "a" * 64)
    assert record is not None and record["aliases"] == ["y", "z"]
    assert read_manifest_record(paths, "analytics", "d" * 64) is None


def test_manifest_rejects_unknown_fields_and_unreadable_records(paths: Paths) -> None:
    with pytest.raises(ManifestError, match=r"unknown fields \['colour'\]"):
        write_manifest_record(paths, _record("a" * 64, "analytics/a", "t") | {"colour": "red"})
    broken = paths.manifest_dir / "analytics" / ("e" * 64 + ".json")
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("{not json")
    with pytest.raises(ManifestError, match=f"unreadable manifest record {broken}"):
        read_manifest(paths, "analytics")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../evil.json.gz", "contains '..'"),
        ("a/../../evil", "contains '..'"),
        ("/etc/passwd", "absolute path"),
        ("C:\\win.ini", "absolute path"),
        ("..\\evil", "contains '..'"),
    ],
)
def test_unsafe_member_names_are_rejected(name: str, problem: str) -> None:
    with pytest.raises(ArchiveError) as excinfo:
        check_member_name("analytics/x.zip", name)
    assert str(excinfo.value) == f"unsafe ZIP member name {name!r} in analytics/x.zip: {problem}"


def test_safe_member_names_pass() -> None:
    check_member_name("x.zip", "123/123_2024-03-05_9#0.json.gz")
    check_member_name("x.zip", "dir/..hidden/file..name")


def _zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def test_zip_bomb_ratio_and_total_limits(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(_zip_bytes({"zeros.json": b"\0" * (4 * 1024 * 1024)}))
    work = tmp_path / "work"
    work.mkdir()
    limits = ArchiveLimits(max_member_ratio=50, ratio_floor_bytes=1024 * 1024)
    with pytest.raises(ArchiveError, match=r"ZIP member 'zeros.json' in bomb.zip expands more than 50x"):
        list(iter_extracted_members(bomb, "bomb.zip", work, limits))
    assert list(work.iterdir()) == []  # the partial member is removed

    small_total = ArchiveLimits(max_total_uncompressed_bytes=1000)
    with pytest.raises(ArchiveError, match=r"bomb.zip declares 4194304 uncompressed bytes, above the limit 1000"):
        list(iter_extracted_members(bomb, "bomb.zip", work, small_total))


def test_zip_members_are_extracted_one_at_a_time_under_our_own_names(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip_bytes({"p/one.json.gz": b"1", "p/": b"", "p/two.json.gz": b"22"}))
    work = tmp_path / "work"
    work.mkdir()
    seen = []
    for index, info, extracted in iter_extracted_members(archive, "a.zip", work, ArchiveLimits()):
        seen.append((index, info.filename, extracted.name, extracted.read_bytes()))
        extracted.unlink()
    assert seen == [(0, "p/one.json.gz", "member-0", b"1"), (1, "p/two.json.gz", "member-1", b"22")]


def test_manifest_records_are_plain_json(paths: Paths) -> None:
    target = write_manifest_record(paths, _record("f" * 64, "analytics/f.jsonl", "t"))
    assert json.loads(target.read_text())["sha256"] == "f" * 64


# -- the shared loop and its batched row writer ------------------------------------------------------------------

# A made-up contract under a known source name (the landing area accepts only the five sources).
_TOY = SourceSpec(
    "marketing",
    "toy-1",
    {
        "items": (("item_id", "VARCHAR"), ("amount", "DECIMAL(18,2)"), ("_record_number", "BIGINT"))
        + (("_source_file", "VARCHAR"), ("_source_format", "VARCHAR"))
        + (("_file_sha256", "VARCHAR"), ("_ingested_at", "TIMESTAMP")),
    },
    (
        ("_source_file", "VARCHAR"),
        ("_file_sha256", "VARCHAR"),
        ("_record_number", "BIGINT"),
        ("entity", "VARCHAR"),
        ("record_key", "VARCHAR"),
        ("raw_record", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("_ingested_at", "TIMESTAMP"),
    ),
)


def _toy_parse(path: Path, label: str, stage: RowStage) -> ParsedFile:
    """One record per line 'id,amount'; an amount that is not a number is rejected. Streams rows to the stage."""
    parsed = ParsedFile("toy_csv", "items", {"items": []})
    for number, line in enumerate(path.read_text().splitlines(), 1):
        parsed.rows_in += 1
        item_id, amount = line.split(",")
        if not amount.replace(".", "").isdigit():
            stage.reject({"_record_number": number, "entity": "items", "record_key": item_id, "raw_record": line,
                          "reason": f"amount {amount!r} is not a number"})  # fmt: skip
            parsed.rows_rejected += 1
            continue
        stage.add("items", [{"item_id": item_id, "amount": Decimal(amount), "_record_number": number}])
        parsed.rows_loaded += 1
    return parsed


def _toy_ingest(paths: Paths, parse=_toy_parse) -> IngestReport:
    return ingest_files(_TOY, paths, lambda: RowSource(parse=parse), files=None, log=None)


def test_rows_stream_in_batches_and_come_out_in_file_order(paths: Paths, monkeypatch) -> None:
    monkeypatch.setattr(row_writer, "BATCH_ROWS", 7)  # many batches, and a last partial one
    lines = [f"i{n},{n}.25" if n % 10 else f"i{n},x{n}" for n in range(1, 101)]
    landed = paths.landing / "marketing" / "items.csv"
    landed.parent.mkdir(parents=True, exist_ok=True)
    landed.write_text("\n".join(lines) + "\n")

    report = _toy_ingest(paths)

    [result] = report.results
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_rejected) == ("loaded", 100, 90, 10)
    items = duckdb.sql(f"SELECT item_id, amount, _record_number, _source_format FROM '{result.lake_file}'").fetchall()
    assert [row[2] for row in items] == [n for n in range(1, 101) if n % 10]
    assert items[0] == ("i1", Decimal("1.25"), 1, "toy_csv")
    rejected = duckdb.sql(f"SELECT _record_number, reason FROM '{result.quarantine_file}'").fetchall()
    assert rejected == [(n, f"amount 'x{n}' is not a number") for n in range(10, 101, 10)]
    record = read_manifest_record(paths, "marketing", result.sha256)
    assert record is not None and record["entity_rows"] == {"items": 90} and record["quarantine_file"]


def test_a_parser_whose_counts_do_not_add_up_fails_its_file_and_writes_nothing(paths: Paths) -> None:
    landed = paths.landing / "marketing" / "items.csv"
    landed.parent.mkdir(parents=True, exist_ok=True)
    landed.write_text("a,1\nb,2\n")

    def miscounting(path: Path, label: str, stage: RowStage) -> ParsedFile:
        parsed = _toy_parse(path, label, stage)
        parsed.rows_in += 1
        return parsed

    [result] = _toy_ingest(paths, miscounting).results

    assert result.status == "failed"
    assert result.error == "marketing/items.csv: rows_in 3 != loaded 2 + rejected 0 + skipped 0"
    assert list((paths.lake / "_pending" / "marketing" / "items").glob("*.parquet")) == []
    assert read_manifest_record(paths, "marketing", result.sha256)["status"] == "failed"  # type: ignore[index]


def test_rows_lost_between_the_parser_and_the_lake_fail_the_file(paths: Paths, monkeypatch) -> None:
    # A batching slip that drops a row and counts only what it kept: the staged count and the written file agree,
    # only the tally of rows the parser handed over shows the loss.
    monkeypatch.setattr(row_writer, "BATCH_ROWS", 3)
    keep = row_writer._StagedTable.append
    monkeypatch.setattr(
        row_writer._StagedTable, "append", lambda table, batch, transform: keep(table, batch[:-1], transform)
    )
    landed = paths.landing / "marketing" / "items.csv"
    landed.parent.mkdir(parents=True, exist_ok=True)
    landed.write_text("".join(f"i{n},{n}\n" for n in range(1, 8)))

    [result] = _toy_ingest(paths).results

    assert result.status == "failed"
    assert result.error is not None and "items rows" in result.error and "the parser handed over 7" in result.error
    assert list((paths.lake / "_pending" / "marketing" / "items").glob("*.parquet")) == []


def test_a_value_the_contract_cannot_hold_fails_the_file_naming_it(paths: Paths) -> None:
    landed = paths.landing / "marketing" / "items.csv"
    landed.parent.mkdir(parents=True, exist_ok=True)
    landed.write_text("a,1\nb,12345678901234567890.5\n")  # beyond DECIMAL(18,2)

    [result] = _toy_ingest(paths).results

    assert result.status == "failed" and result.error is not None
    assert result.error.startswith("marketing/items.csv: cannot store items rows: Conversion Error")


def test_duplicate_keys_are_found_with_their_copies_in_file_order() -> None:
    con = duckdb.connect()
    records = [
        (0, 1, "a", "x"),
        (1, 2, "b", "y"),
        (2, 3, "a", "x"),
        (3, 4, None, "z"),
        (4, 5, "b", "y2"),
        (5, 6, "c", ""),
    ]

    found = find_duplicates(con, records)

    assert found == {
        "a": DuplicateGroup(ordinals=(0, 2), numbers=(1, 3), conflicting=False),
        "b": DuplicateGroup(ordinals=(1, 4), numbers=(2, 5), conflicting=True),
    }
