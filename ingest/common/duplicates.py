"""Which record keys of one file occur more than once, and whether their copies differ.

The index lives in DuckDB (key and a 16-byte digest of the record's raw text per record), so finding duplicates
costs memory for the duplicated keys only, not for every record of the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pyarrow as pa

_BATCH = 50_000
_SCHEMA = pa.schema([("ordinal", pa.int64()), ("number", pa.int64()), ("key", pa.string()), ("digest", pa.binary())])


@dataclass(frozen=True)
class DuplicateGroup:
    """Every copy of one key, in file order: ``ordinals`` (position among the file's records) and ``numbers`` (the
    record numbers messages show); ``conflicting`` when the copies' raw texts are not all identical."""

    ordinals: tuple[int, ...]
    numbers: tuple[int, ...]
    conflicting: bool


def find_duplicates(
    con: duckdb.DuckDBPyConnection, records: Iterable[tuple[int, int, str | None, str]]
) -> dict[str, DuplicateGroup]:
    """``records``: (ordinal, record number, key or None, raw text). Returns the keys seen more than once."""
    con.execute("CREATE OR REPLACE TEMP TABLE record_keys_ (ordinal BIGINT, number BIGINT, key VARCHAR, digest BLOB)")
    try:
        batch: list[tuple[int, int, str, bytes]] = []

        def flush() -> None:
            columns = list(zip(*batch, strict=True))
            con.register("record_keys_batch_", pa.Table.from_arrays([pa.array(c) for c in columns], schema=_SCHEMA))
            try:
                con.execute("INSERT INTO record_keys_ SELECT * FROM record_keys_batch_")
            finally:
                con.unregister("record_keys_batch_")
            batch.clear()

        for ordinal, number, key, raw in records:
            if key is None:
                continue
            batch.append((ordinal, number, key, hashlib.blake2b(raw.encode("utf-8"), digest_size=16).digest()))
            if len(batch) >= _BATCH:
                flush()
        if batch:
            flush()
        rows = con.execute(
            "SELECT key, list(ordinal ORDER BY ordinal), list(number ORDER BY ordinal), count(DISTINCT digest) > 1 "
            "FROM record_keys_ GROUP BY key HAVING count(*) > 1"
        ).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS record_keys_")
    return {
        key: DuplicateGroup(tuple(ordinals), tuple(numbers), bool(conflicting))
        for key, ordinals, numbers, conflicting in rows
    }
