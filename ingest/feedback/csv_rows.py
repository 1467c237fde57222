"""CSV reading shared by the CSV layouts: strict quoting, multi-line cells, BOM and blank lines tolerated.

A landed CSV is read from disk on each pass over it (``CsvFile``), never held whole: a layout that needs to look
at its data before parsing it (Typeform's question kinds) reads it twice, the others once.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ingest.feedback.errors import MalformedFileError, RecordError
from ingest.feedback.rows import EntityRows, FileRows, Record, load_records
from ingest.feedback.values import clean, raw_json

_CHUNK_BYTES = 1 << 20


def check_utf8(path: Path, label: str) -> None:
    """Fail with the offset of the first byte that is not UTF-8, reading the file in bounded chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes of the file before the decoder's pending bytes
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK_BYTES)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                position = offset - len(pending) + exc.start
                raise MalformedFileError(
                    f"{label} is not UTF-8 text: byte {position} ({exc.object[exc.start]:#04x})"
                ) from None
            if not chunk:
                return
            offset += len(chunk)


class CsvFile:
    """The non-blank rows of a landed CSV (cells as exported; a BOM on the first cell removed), read from the file
    on every iteration. ``rows[i]`` is the i-th row; ``rows[k:]`` the rows after the first k, also re-readable."""

    def __init__(self, path: Path, label: str, skip: int = 0):
        self.path = path
        self.label = label
        self.skip = skip
        self._head: list[list[str]] = []

    def __iter__(self) -> Iterator[list[str]]:
        with open(self.path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            index = 0
            try:
                for cells in reader:
                    if not any(cell.strip() for cell in cells):
                        continue
                    if index == 0 and cells:
                        cells[0] = cells[0].lstrip("\ufeff")
                    if index >= self.skip:
                        yield cells
                    index += 1
            except csv.Error as exc:
                raise MalformedFileError(f"malformed CSV in {self.label} at line {reader.line_num}: {exc}") from None

    def __getitem__(self, item: int | slice) -> list[str] | CsvFile:
        if isinstance(item, slice):
            if item.stop is not None or item.step is not None or (item.start or 0) < 0:
                raise TypeError("a CsvFile slices only as rows[k:]")
            return CsvFile(self.path, self.label, self.skip + (item.start or 0))
        if item < 0:
            raise IndexError(item)
        if len(self._head) <= item:
            self._head = []
            for cells in self:
                self._head.append(cells)
                if len(self._head) > item:
                    break
        if len(self._head) <= item:
            raise IndexError(item)
        return self._head[item]

    def first(self) -> list[str] | None:
        """The first row (the header), or None for a file with no rows."""
        try:
            return self[0]  # type: ignore[return-value]
        except IndexError:
            return None


CsvRows = CsvFile | list[list[str]]  # a landed file read on each pass, or rows in memory (tests, small layouts)


class Reread:
    """Records made afresh by ``make`` on every pass: ``load_records`` reads them twice without keeping them."""

    def __init__(self, make: Callable[[], Iterator[Record]]):
        self.make = make

    def __iter__(self) -> Iterator[Record]:
        return self.make()


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


class CsvRecords:
    """The data rows of a CSV as Records, numbered from 1 (the data row, whatever the header height); re-iterable
    when ``data`` is (a CsvFile or a list)."""

    def __init__(self, header: list[str], data: Iterable[list[str]], key_column: str | None):
        self.header = header
        self.data = data
        self.key_index = header.index(key_column) if key_column in header else None

    def __iter__(self) -> Iterator[Record]:
        key_index, header = self.key_index, self.header
        for n, cells in enumerate(self.data, 1):
            key = clean(cells[key_index]) if key_index is not None and key_index < len(cells) else None
            yield Record(n, key, lambda cells=cells: raw_json(raw_row(header, cells)), cells)


def load_csv_records(
    out: FileRows,
    header: list[str],
    data: Iterable[list[str]],
    key_column: str | None,
    parse: Callable[[Record], EntityRows],
    noun: str = "response",
) -> None:
    """Data rows numbered from 1: the record number is the data row, whatever the header height."""
    load_records(out, CsvRecords(header, data, key_column), parse, noun)
