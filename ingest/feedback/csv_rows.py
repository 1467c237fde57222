"""CSV reading shared by the CSV layouts: strict quoting, multi-line cells, BOM and blank lines tolerated."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from ingest.feedback.errors import MalformedFileError, RecordError
from ingest.feedback.rows import EntityRows, FileRows, Record, load_records
from ingest.feedback.values import clean, raw_json


def read_csv(text: str, label: str) -> list[list[str]]:
    """Every non-blank row (cells as exported; a BOM on the first cell removed)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append(cells)
    except csv.Error as exc:
        raise MalformedFileError(f"malformed CSV in {label} at line {reader.line_num}: {exc}") from None
    if rows and rows[0]:
        rows[0][0] = rows[0][0].lstrip("\ufeff")
    return rows


def header_names(row: list[str]) -> list[str]:
    return [cell.strip() for cell in row]


def raw_row(header: list[str], cells: list[str]) -> dict[str, str]:
    """The row as header -> cell for the quarantine (cells beyond the header under ``_extra_cells``)."""
    raw: dict[str, object] = {}
    for name, cell in zip(header, cells, strict=False):
        # Repeated headers (split multi-select, SurveyMonkey spans) keep every cell.
        raw[name] = cell if name not in raw else [*(raw[name] if isinstance(raw[name], list) else [raw[name]]), cell]
    if len(cells) > len(header):
        raw["_extra_cells"] = cells[len(header) :]
    return raw  # type: ignore[return-value]


def fit_width(cells: list[str], width: int) -> list[str]:
    """Pad a short row (editors drop trailing empty cells); a row with extra non-empty cells is a bad record."""
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        raise RecordError(f"the row has {len(cells)} cells, the header has {width}")
    return (cells + [""] * width)[:width]


def load_csv_records(
    out: FileRows,
    header: list[str],
    data: list[list[str]],
    key_column: str | None,
    parse: Callable[[Record], EntityRows],
    noun: str = "response",
) -> None:
    """Data rows numbered from 1: the record number is the data row, whatever the header height."""
    key_index = header.index(key_column) if key_column in header else None
    records = []
    for n, cells in enumerate(data, 1):
        key = clean(cells[key_index]) if key_index is not None and key_index < len(cells) else None
        records.append(Record(n, key, raw_json(raw_row(header, cells)), cells))
    load_records(out, records, parse, noun)
