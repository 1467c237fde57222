"""The ingest manifest: one JSON record per landed content hash, lake/_manifest/<source>/<sha256>.json.

A record says where the bytes were first seen (``path``, relative to landing/), every other path seen with the
same bytes (``aliases``), the outcome (``status`` loaded|failed, row counts, error) and what was written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.settings import Paths
from ingest.common.atomic import TEMP_SUFFIX, atomic_write_text

MANIFEST_FIELDS = (
    "source",
    "path",  # relative to landing/, e.g. analytics/2024-03/export.zip
    "aliases",  # other landing paths seen with the same bytes (loaded once, recorded here)
    "sha256",
    "bytes",
    "format",
    "status",  # loaded | failed | discarded (by an operator, after its gate failed)
    "rows_in",
    "rows_loaded",
    "rows_rejected",
    "rows_skipped",  # rows recognised as not data (e.g. ad platforms' "Total:" rows): counted, never loaded
    "incomplete",  # the vendor marked the export as cut short (e.g. Mixpanel "terminated early")
    "notes",
    "unknown_columns",  # columns of the file the pipeline does not read (not loaded); see ingest/common/columns.py
    "missing_columns",  # optional columns the pipeline reads that the file lacks (loaded as NULL)
    "error",
    "lake_file",  # relative to lake/
    "quarantine_file",  # relative to lake/, only when rows were rejected
    "lake_files",  # sources with several entities per file: every lake file written, relative to lake/
    "entity_rows",  # sources with several entities per file: rows written per entity
    "details",  # source-specific facts about the parse (e.g. which Jira custom field served which logical field)
    "started_at",  # UTC ISO-8601
    "finished_at",
    "parser_version",
)


class ManifestError(ValueError):
    """A manifest record that cannot be read; the message names the record file."""


def manifest_source_dir(paths: Paths, source: str) -> Path:
    return paths.manifest_dir / source


def manifest_record_path(paths: Paths, source: str, sha256: str) -> Path:
    return manifest_source_dir(paths, source) / f"{sha256}.json"


def _load(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"unreadable manifest record {path}: {exc}") from exc
    if not isinstance(record, dict) or record.get("sha256") != path.stem:
        raise ManifestError(f"manifest record {path} is not an object keyed by its file's sha256")
    return record


def read_manifest_record(paths: Paths, source: str, sha256: str) -> dict[str, Any] | None:
    path = manifest_record_path(paths, source, sha256)
    return _load(path) if path.exists() else None


def write_manifest_record(paths: Paths, record: dict[str, Any]) -> Path:
    """Write one record atomically (only the known fields, in a stable order and sorted aliases)."""
    missing = [name for name in ("source", "sha256", "path", "status") if not record.get(name)]
    if missing:
        raise ManifestError(f"manifest record lacks {', '.join(missing)}: {record!r}")
    unknown = sorted(set(record) - set(MANIFEST_FIELDS))
    if unknown:
        raise ManifestError(f"manifest record has unknown fields {unknown}")
    ordered = {name: record.get(name) for name in MANIFEST_FIELDS}
    if ordered["rows_skipped"] is None and ordered["rows_in"] is not None:
        # Sources with no rows to skip (analytics, jira, feedback) do not set it: rows_in = loaded + rejected + 0.
        ordered["rows_skipped"] = 0
    ordered["aliases"] = sorted(set(record.get("aliases") or []))
    target = manifest_record_path(paths, record["source"], record["sha256"])
    atomic_write_text(target, json.dumps(ordered, indent=2, sort_keys=False) + "\n")
    return target


def read_manifest(paths: Paths, source: str | None = None) -> list[dict[str, Any]]:
    """All manifest records (of one source, or of all), sorted by source, start time and path."""
    root = paths.manifest_dir
    if not root.is_dir():
        return []
    folders = [root / source] if source else sorted(p for p in root.iterdir() if p.is_dir())
    records = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            if path.name.startswith(".") or path.name.endswith(TEMP_SUFFIX):
                continue
            records.append(_load(path))
    return sorted(records, key=lambda r: (r.get("source") or "", r.get("started_at") or "", r.get("path") or ""))
