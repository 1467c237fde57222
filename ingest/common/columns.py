"""Schema drift, reported the same way for every source: columns of a header (CSV, Parquet) and top-level keys of
JSON records (Stripe, Zendesk, Delighted, Jira REST; analytics JSON lines collect theirs in their DuckDB SQL).

- ``unknown_columns``: columns of the file the pipeline does not read. The file still loads (the known columns);
  their values are not stored anywhere, so the manifest record and the summary list them for someone to decide.
- ``missing_columns``: optional columns the pipeline reads that the header lacks; their values load as NULL.
- A missing required column fails the file, with a message naming every name it looked for (each parser's own).

For JSON records, ``unknown`` lists the keys seen in any record of the file (sorted) that the parser neither reads nor
deliberately leaves, per the vendor's documented object; ``missing`` the optional keys it reads that no record
carries. Keys whose values are data by design (Jira issue ``fields``, Mixpanel ``properties``) are not checked.

Columns whose values are kept as data by design (Segment ``properties_*``, survey question and person-property
columns stored in ``properties``) are neither: they are read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


def _folded(name: str) -> str:
    return name.strip().lstrip("\ufeff").casefold()


@dataclass(frozen=True)
class ColumnDrift:
    unknown: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        header: Iterable[str],
        *,
        known: Callable[[str], bool] | Iterable[str],
        optional: Iterable[str] = (),
        fold: Callable[[str], str] = _folded,
    ) -> ColumnDrift:
        """``known``: the names the pipeline reads or deliberately leaves (a set of names, compared folded, or a
        predicate on the header name). ``optional``: the names it reads when present (reported when absent)."""
        names = [name.strip().lstrip("\ufeff") for name in header]
        if callable(known):
            is_known = known
        else:
            known_folded = {fold(name) for name in known}

            def is_known(name: str) -> bool:
                return fold(name) in known_folded

        present = {fold(name) for name in names}
        unknown = tuple(dict.fromkeys(name for name in names if name and not is_known(name)))
        missing = tuple(name for name in dict.fromkeys(optional) if fold(name) not in present)
        return cls(unknown, missing)

    def __bool__(self) -> bool:
        return bool(self.unknown or self.missing)

    @classmethod
    def of_records(cls, records: Iterable[Any], *, known: Iterable[str], optional: Iterable[str] = ()) -> ColumnDrift:
        """JSON records: the top-level keys of every object among ``records`` (other values are the parser's to
        reject). Keys compare exactly: JSON keys are case-sensitive. No object record, no drift."""
        seen: set[str] = set()
        objects = 0
        for record in records:
            if isinstance(record, dict):
                seen.update(record)
                objects += 1
        if not objects:
            return cls()
        unknown = tuple(sorted(seen.difference(known)))
        missing = tuple(name for name in dict.fromkeys(optional) if name not in seen)
        return cls(unknown, missing)

    def merged(self, other: ColumnDrift) -> ColumnDrift:
        """Drift of a file holding several record kinds (a Stripe list of customers and invoices)."""
        return ColumnDrift(
            tuple(sorted(set(self.unknown) | set(other.unknown))),
            tuple(dict.fromkeys((*self.missing, *other.missing))),
        )
