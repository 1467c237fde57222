"""What an ingest run reports: one FileResult per landed file, gathered in an IngestReport (every source's loop
run, ingest/common/loop.py, returns one). Sources may write several lake entities per landed file (``lake_files``);
each log line names its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

LOADED = "loaded"
SKIPPED_DUPLICATE = "skipped_duplicate"
ALREADY_LOADED = "already_loaded"
FAILED = "failed"
STATUSES = (LOADED, SKIPPED_DUPLICATE, ALREADY_LOADED, FAILED)


@dataclass
class FileResult:
    """The outcome for one landed file. Row counts are this run's (0 when nothing was parsed)."""

    source: str
    path: Path
    sha256: str | None
    status: str  # loaded | skipped_duplicate | already_loaded | failed
    relative_path: str | None = None
    format: str | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0  # recognised non-data rows (totals), counted: rows_in = loaded + rejected + skipped
    error: str | None = None
    lake_file: Path | None = None  # the file's main entity (pending area when written by this run)
    lake_files: list[Path] = field(default_factory=list)  # every entity file written by this run
    entity_rows: dict[str, int] = field(default_factory=dict)
    quarantine_file: Path | None = None
    incomplete: bool = False
    notes: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)  # in the file, not read: not loaded
    missing_columns: list[str] = field(default_factory=list)  # optional columns read when present, absent
    seconds: float = 0.0

    def describe(self) -> str:
        line = f"{self.source}: {self.status} {self.relative_path or self.path}"
        if self.format:
            line += f" [{self.format}]"
        if self.status == LOADED:
            line += f" rows_in={self.rows_in} loaded={self.rows_loaded} rejected={self.rows_rejected}"
            if self.rows_skipped:
                line += f" skipped={self.rows_skipped}"
            if self.entity_rows:
                line += " (" + ", ".join(f"{name}={count}" for name, count in self.entity_rows.items()) + ")"
        if self.unknown_columns:
            line += " [columns not read: " + ", ".join(self.unknown_columns) + "]"
        if self.missing_columns:
            line += " [optional columns missing: " + ", ".join(self.missing_columns) + "]"
        if self.incomplete:
            line += " (export incomplete, see the manifest notes)"
        if self.error:
            line += f": {self.error}"
        return line + f" ({self.seconds:.2f}s)"


@dataclass
class IngestReport:
    source: str
    results: list[FileResult] = field(default_factory=list)

    @property
    def new_lake_files(self) -> list[Path]:
        """Lake Parquet files written by this run (every entity file of every newly loaded file)."""
        written: list[Path] = []
        for result in self.results:
            if result.status != LOADED:
                continue
            written.extend(result.lake_files or ([result.lake_file] if result.lake_file is not None else []))
        return written

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == FAILED]

    @property
    def totals(self) -> dict[str, int]:
        """File counts per status, and row counts over the files loaded by this run."""
        loaded = [r for r in self.results if r.status == LOADED]
        totals = {"files": len(self.results)}
        for status in STATUSES:
            totals[status] = sum(1 for r in self.results if r.status == status)
        for name in ("rows_in", "rows_loaded", "rows_rejected", "rows_skipped"):
            totals[name] = sum(getattr(r, name) for r in loaded)
        return totals
