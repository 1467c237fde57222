"""Validate a DuckDB relation against a gate: GX 1.x on bounded pandas slices, plus set-level checks in SQL.

Why this shape (see PERFORMANCE-NOTES.md, GX section):
- GX's SQL datasource on DuckDB is broken upstream (GX issues 10738, 11579), so GX only ever sees pandas frames.
- A whole table as one DataFrame costs about 20x its Parquet size in RAM, so rows stream from one DuckDB query
  in slices of at most ``slice_rows`` and each slice is validated on its own. That is only correct for rules a
  row can break on its own (map expectations) and for schema rules; `_check_slice_safe` refuses anything else.
- Rules over the whole relation (a key's uniqueness, a value against the previous row, "not empty") are
  `DerivedCheck`s: DuckDB computes a small frame (the violations, or one aggregate row) and a GX expectation
  judges that frame, so every rule still ends up as a GX expectation with a result.
- Row rules read only their own columns (and their row conditions') plus the lake's lineage columns. When a rule
  fails on a slice, only the failed rules are judged again on that slice with GX's unexpected-row index, so each
  failure is attributed to the landed files (``_file_sha256``, ``_source_file``) its rows came from; good data
  pays nothing for it. Schema rules and the contract's types are judged per file (per distinct file schema).

GX runs in an ephemeral, in-memory context with analytics off: it writes no project directory and makes no
network call (tests/unit/test_expectations_runner.py guards both).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb
import great_expectations as gx
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    Expectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.row_conditions import (
    AndCondition,
    Column,
    Condition,
    NullityCondition,
    OrCondition,
    PassThroughCondition,
)
from great_expectations.validator.v1_validator import Validator as V1Validator

from core.config import PipelineConfig, load_config
from core.duckdb_connection import connect_duckdb

Severity = Literal["error", "warn"]
SEVERITIES: tuple[str, ...] = ("error", "warn")

EXAMPLES_PER_RULE = 5
# Lineage columns every lake row carries (DESIGN.md): a failing row is attributed to the landed file it came from, so
# the operator knows which sha256 to `pmw discard`.
FILE_COLUMNS = ("_file_sha256", "_source_file")
# Where in its file a failing row sits, kept with the file's example rows when the relation has them.
ROW_LOCATION_COLUMNS = ("_source_member", "_record_number", "_line_number")
EXAMPLES_PER_FILE = 3
# Map expectations whose verdict depends on other rows: per-slice verdicts would miss cross-slice violations.
_NOT_SLICE_SAFE = frozenset(
    {
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_be_increasing",
        "expect_column_values_to_be_decreasing",
    }
)
# Table-level expectations that hold for the whole relation exactly when they hold for every slice.
_SCHEMA_EXPECTATIONS = frozenset(
    {
        "expect_column_to_exist",
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
    }
)
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")
_RULE_INDEX_KEY = "pmw_rule_index"
# Lineage columns ride along with a slice under this prefix, outside the frame GX validates (see _projection).
_LINEAGE_PREFIX = "__pmw_lineage__"
_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": EXAMPLES_PER_RULE}
# How a frame of violating rows is judged (see DerivedCheck).
E_ROW_COUNT_ZERO = gx.expectations.ExpectTableRowCountToEqual(value=0)


def rule_meta(severity: Severity, why: str) -> dict[str, str]:
    """The ``meta`` every gate expectation carries: how bad a failure is and why the rule exists."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    if not why:
        raise ValueError("every rule needs a reason (why)")
    return {"severity": severity, "why": why}


@dataclass(frozen=True)
class DerivedCheck:
    """A rule over the whole relation: DuckDB computes a frame from ``sql``, GX judges it with ``expectation``.

    ``sql`` is a SELECT with a ``{relation}`` placeholder. Prefer a query returning only violating rows (judged by
    ``ExpectTableRowCountToEqual(value=0)``) or a per-row comparison judged by a map expectation: both stay
    correct when a big result is itself read in slices.
    """

    name: str
    sql: str
    expectation: Expectation
    severity: Severity
    why: str

    def __post_init__(self) -> None:
        rule_meta(self.severity, self.why)
        if "{relation}" not in self.sql:
            raise ValueError(f"derived check {self.name!r}: sql must read from {{relation}}")


@dataclass(frozen=True)
class Gate:
    """What a suite module exposes: the rules for one gated table."""

    name: str
    target: str
    # build_suite(config, *, now: datetime) with ``now`` naive UTC like the contract's timestamps (the runner
    # normalises it); row-level rules only, each with meta=rule_meta(...).
    build_suite: Callable[..., gx.ExpectationSuite]
    derived_checks: Callable[[PipelineConfig], list[DerivedCheck]]
    # The (column, DuckDB type) contract of a lake entity. When given, the runner adds the rule
    # CONTRACT_TYPES_CHECK: every contract column a file carries has the contract's type (per file for Parquet).
    # Which columns exist is the suite's own ExpectTableColumnsToMatchSet rule.
    contract: tuple[tuple[str, str], ...] = ()


CONTRACT_TYPES_CHECK = "column_types_match_contract"


@dataclass(frozen=True)
class FileFailures:
    """One landed file's share of a failed rule: how many of its rows broke it, and a few of them."""

    file_sha256: str | None
    source_file: str | None
    unexpected_count: int
    examples: list[Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file_sha256": self.file_sha256,
            "source_file": self.source_file,
            "unexpected_count": self.unexpected_count,
            "examples": _json_safe(self.examples),
        }


@dataclass(frozen=True)
class ExpectationOutcome:
    """One rule's verdict over the whole relation (slices combined)."""

    check: str  # "row" for suite expectations, else the derived check's name
    expectation_type: str
    columns: tuple[str, ...]
    severity: Severity
    success: bool
    unexpected_count: int | None
    element_count: int
    unexpected_examples: list[Any]
    message: str
    why: str
    observed_value: Any = None
    exception: str | None = None
    # Filled when the relation carries the lake's lineage columns: which landed files the failing rows came from.
    failing_files: list[FileFailures] = field(default_factory=list)

    @property
    def rule(self) -> str:
        subject = f"{self.expectation_type}({', '.join(self.columns)})"
        return subject if self.check == "row" else f"{self.check}: {subject}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "expectation_type": self.expectation_type,
            "columns": list(self.columns),
            "severity": self.severity,
            "success": self.success,
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "unexpected_examples": _json_safe(self.unexpected_examples),
            "message": self.message,
            "why": self.why,
            "observed_value": _json_safe(self.observed_value),
            "exception": self.exception,
            "failing_files": [f.to_dict() for f in self.failing_files],
        }


@dataclass(frozen=True)
class GateResult:
    suite_name: str
    relation: str
    success: bool  # no error-level rule failed; warnings never block
    rows_validated: int
    slices: int
    results: list[ExpectationOutcome] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def failed_errors(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success and r.severity == "error"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success and r.severity == "warn"]

    def failing_files(self) -> list[dict[str, Any]]:
        """Each landed file with rows that break an error-level rule: its sha256, landing path, the rules it
        breaks with their counts, and a few example rows; ordered by sha256."""
        files: dict[str | None, dict[str, Any]] = {}
        for outcome in self.failed_errors:
            for part in outcome.failing_files:
                entry = files.setdefault(
                    part.file_sha256,
                    {"file_sha256": part.file_sha256, "source_file": part.source_file, "rules": [], "examples": []},
                )
                entry["source_file"] = entry["source_file"] or part.source_file
                entry["rules"].append({"rule": outcome.rule, "unexpected_count": part.unexpected_count})
                room = EXAMPLES_PER_FILE - len(entry["examples"])
                entry["examples"] += [{"rule": outcome.rule, "row": row} for row in part.examples[: max(room, 0)]]
        return [_json_safe(files[key]) for key in sorted(files, key=lambda k: (k is None, k or ""))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite_name": self.suite_name,
            "relation": self.relation,
            "success": self.success,
            "rows_validated": self.rows_validated,
            "slices": self.slices,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "failed_errors": len(self.failed_errors),
            "warnings": len(self.warnings),
            "failing_files": self.failing_files(),
            "expectations": [r.to_dict() for r in self.results],
        }

    def summary(self) -> str:
        verdict = "passed" if self.success else "FAILED"
        failed = self.failed_errors + self.warnings
        detail = "; ".join(f"[{r.severity}] {r.message}" for r in failed[:3])
        if len(failed) > 3:
            detail += f"; and {len(failed) - 3} more"
        named = [f for f in self.failing_files() if f["file_sha256"]]
        if named:
            detail += "; failing file(s): " + ", ".join(f"{f['file_sha256']} ({f['source_file']})" for f in named)
        return (
            f"{self.suite_name} {verdict}: {len(self.results)} rules, {len(self.failed_errors)} error(s), "
            f"{len(self.warnings)} warning(s) over {self.rows_validated:,} rows in {self.slices} slice(s), "
            f"{self.elapsed_seconds:.2f} s" + (f" -- {detail}" if detail else "")
        )


def validate_relation(
    con: duckdb.DuckDBPyConnection,
    relation_sql: str,
    gate: Gate,
    *,
    slice_rows: int = 250_000,
    config: PipelineConfig | None = None,
    now: dt.datetime | None = None,
) -> GateResult:
    """Validate ``relation_sql`` (a table name or a table expression such as ``read_parquet([...])``).

    Rows stream from one query in slices of at most ``slice_rows`` rows (a slice ends early only where DuckDB ends
    a batch that would not fit). Unexpected counts are summed over slices; a rule passes when it passes on every
    slice. Only the columns the row rules read (plus the lineage columns that name a failing row's file) are
    read; schema rules are judged on the relation's empty, typed frame.
    """
    return _validate(con, relation_sql, gate, files=None, slice_rows=slice_rows, config=config, now=now)


def validate_parquet_files(
    files: list[Path],
    gate: Gate,
    *,
    slice_rows: int = 250_000,
    config: PipelineConfig | None = None,
    now: dt.datetime | None = None,
) -> GateResult:
    """Validate a set of Parquet files (e.g. the lake files one ingest run wrote) as one relation.

    Schema and type rules are also judged file by file, so a failure names the file that breaks them."""
    if not files:
        raise ValueError(f"{gate.name}: no Parquet files to validate")
    literals = ", ".join(sql_string(str(Path(f))) for f in files)
    # union_by_name: a file missing a column reads it as NULL, which the not-null rules then report per row,
    # instead of DuckDB refusing the whole batch with a schema error that names no rule.
    relation_sql = f"read_parquet([{literals}], union_by_name = true)"
    with connect_duckdb() as con:
        return _validate(
            con, relation_sql, gate, files=[Path(f) for f in files], slice_rows=slice_rows, config=config, now=now
        )


def validate_warehouse_table(
    warehouse_path: Path,
    table: str,
    gate: Gate,
    *,
    slice_rows: int = 250_000,
    config: PipelineConfig | None = None,
    now: dt.datetime | None = None,
) -> GateResult:
    """Validate one table of the warehouse file, opened read-only (one writer at a time) and closed afterwards."""
    if not _TABLE_NAME.match(table):
        raise ValueError(f"{table!r} is not a plain [schema.]table name")
    quoted = ".".join(f'"{part}"' for part in table.split("."))
    with connect_duckdb(str(warehouse_path), read_only=True) as con:
        return validate_relation(con, quoted, gate, slice_rows=slice_rows, config=config, now=now)


# --- internals ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileSchema:
    """One Parquet file's columns and the landed file it was written from."""

    file_sha256: str | None
    source_file: str | None
    path: Path | None  # None: the relation as a whole
    columns: list[tuple[str, str]]


def _validate(
    con: duckdb.DuckDBPyConnection,
    relation_sql: str,
    gate: Gate,
    *,
    files: list[Path] | None,
    slice_rows: int,
    config: PipelineConfig | None,
    now: dt.datetime | None,
) -> GateResult:
    started = time.perf_counter()
    config = config if config is not None else load_config()
    now = _utc_naive(now if now is not None else dt.datetime.now(dt.UTC))
    suite = gate.build_suite(config, now=now)
    rules = list(suite.expectations)
    for expectation in rules:
        _check_meta(expectation, gate.name)
        _check_slice_safe(expectation, gate.name)
    checks = gate.derived_checks(config)
    for check in checks:
        _check_slice_safe(check.expectation, f"{gate.name}.{check.name}", derived=True)

    validator = _SliceValidator(gate.name)
    rule_acc = [_Accumulator("row", e) for e in rules]
    schema_index = [i for i, e in enumerate(rules) if e.expectation_type in _SCHEMA_EXPECTATIONS]
    row_index = [i for i in range(len(rules)) if i not in schema_index]
    if files is None:
        schemas = [_FileSchema(None, None, None, _describe(con, relation_sql))]
    else:
        schemas = _file_schemas(con, files)
    if schema_index:
        _judge_schemas(
            con,
            validator,
            [rules[i] for i in schema_index],
            [rule_acc[i] for i in schema_index],
            schemas,
            relation_sql,
        )
    projection = _projection([rules[i] for i in row_index], [name for name, _ in _describe(con, relation_sql)])
    rows, slices = validator.run(
        con,
        f"select {projection} from {relation_sql}",
        [rules[i] for i in row_index],
        [rule_acc[i] for i in row_index],
        slice_rows,
    )
    for i in schema_index:
        # Judged on empty frames; report the rows the relation holds, like every other rule.
        rule_acc[i].element_count = rows

    contract_acc = []
    if gate.contract:
        expectation = E_ROW_COUNT_ZERO.copy(
            update={
                "meta": rule_meta(
                    "error",
                    "dbt's sources declare the contract's types; a file whose column has another type was written "
                    "by another parser version, and reading it with the others would widen or break the column",
                )
            }
        )
        acc = _Accumulator(CONTRACT_TYPES_CHECK, expectation)
        validator.run_frames([_Slice(_type_violations(schemas, gate.contract))], [expectation], [acc])
        contract_acc.append(acc)

    derived_acc = []
    for check in checks:
        expectation = check.expectation.copy(update={"meta": rule_meta(check.severity, check.why)})
        acc = _Accumulator(check.name, expectation)
        validator.run(con, check.sql.format(relation=relation_sql), [expectation], [acc], slice_rows)
        derived_acc.append(acc)

    outcomes = [a.outcome() for a in rule_acc + contract_acc + derived_acc]
    return GateResult(
        suite_name=suite.name,
        relation=relation_sql,
        success=not any(not o.success and o.severity == "error" for o in outcomes),
        rows_validated=rows,
        slices=slices,
        results=outcomes,
        elapsed_seconds=time.perf_counter() - started,
    )


def _judge_schemas(
    con: duckdb.DuckDBPyConnection,
    validator: _SliceValidator,
    rules: list[Expectation],
    accumulators: list[_Accumulator],
    schemas: list[_FileSchema],
    relation_sql: str,
) -> None:
    """Schema rules judged on empty, typed frames: of the relation as a whole, or of each distinct file schema.

    Per file because the union of Parquet files reads a column one file lacks as NULL, which would hide that
    file from a column-set rule; per distinct schema because the files of one export share theirs (one GX run).
    """
    groups: dict[tuple[tuple[str, str], ...], list[_FileSchema]] = {}
    for schema in schemas:
        groups.setdefault(tuple(schema.columns), []).append(schema)
    for members in groups.values():
        path = members[0].path
        relation = relation_sql if path is None else f"read_parquet({sql_string(str(path))})"
        group_acc = [_Accumulator(acc.check, acc.expectation) for acc in accumulators]
        validator.run(con, f"select * from {relation} limit 0", rules, group_acc, 1)
        for acc, judged in zip(accumulators, group_acc, strict=True):
            acc.merge_schema_verdict(judged, members)


def _describe(con: duckdb.DuckDBPyConnection, relation_sql: str) -> list[tuple[str, str]]:
    cursor = con.cursor()
    try:
        return [(row[0], row[1]) for row in cursor.execute(f"describe select * from {relation_sql}").fetchall()]
    finally:
        cursor.close()


def _file_schemas(con: duckdb.DuckDBPyConnection, files: list[Path]) -> list[_FileSchema]:
    """Each file's columns (Parquet metadata only) and, from its first row, the landed file it came from."""
    schemas = []
    for path in files:
        relation = f"read_parquet({sql_string(str(path))})"
        columns = _describe(con, relation)
        names = {name for name, _ in columns}
        # The lake names a pending file after its landed file's sha256; the lineage columns say it when present.
        sha, source_file = path.stem, None
        if set(FILE_COLUMNS) <= names:
            first = con.execute(f"select _file_sha256, _source_file from {relation} limit 1").fetchone()
            if first is not None:
                sha, source_file = first[0] or sha, first[1]
        schemas.append(_FileSchema(sha, source_file, path, columns))
    return schemas


def _type_violations(schemas: list[_FileSchema], contract: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    expected = {name: sql_type.upper() for name, sql_type in contract}
    rows = [
        {
            "column": name,
            "expected_type": expected[name],
            "actual_type": actual,
            "_file_sha256": schema.file_sha256,
            "_source_file": schema.source_file,
        }
        for schema in schemas
        for name, actual in schema.columns
        if name in expected and actual.upper() != expected[name]
    ]
    return pd.DataFrame(rows, columns=["column", "expected_type", "actual_type", *FILE_COLUMNS]).astype(object)


def _projection(rules: list[Expectation], existing: list[str]) -> str:
    """The select list for the row rules, in the relation's order: each column a rule reads (row conditions
    included), in the cheapest form that keeps every verdict, and the lineage columns that attribute a failing row.

    - A column only ever tested for NULL (ExpectColumnValuesToNotBeNull, or an is_null/is_not_null row condition)
      is read as a NULL-or-1 marker: the same rows are NULL, so counts and examples (NULLs) are the same, and a
      key or hash column costs a byte per row instead of its text (GX hashes every frame it is given).
    - Lineage columns are read under a prefix and kept out of the frame GX validates; only a slice that fails a
      rule gets them back (_Slice.with_lineage) to name its files.
    A rule on a column the relation lacks is left to GX, which reports it as failed; a rule whose columns cannot be
    read from its configuration gets every column as it is."""
    needed: set[str] = set()
    null_only: set[str] = set()
    value_read: set[str] = set()
    for expectation in rules:
        columns = _rule_columns(expectation)
        if columns is None:
            return "*"
        needed |= columns
        tested_for_null = _nullity_columns(getattr(expectation, "row_condition", None))
        if expectation.expectation_type == "expect_column_values_to_not_be_null":
            tested_for_null = tested_for_null | set(_columns_of(expectation))
        null_only |= tested_for_null
        value_read |= columns - tested_for_null
    null_only -= value_read
    lineage = set(FILE_COLUMNS) | set(ROW_LOCATION_COLUMNS)
    select = []
    for name in existing:
        if name in null_only:
            select.append(f"case when {_quote(name)} is not null then 1::utinyint end as {_quote(name)}")
        elif name in needed:
            select.append(_quote(name))
    select += [f"{_quote(name)} as {_quote(_LINEAGE_PREFIX + name)}" for name in existing if name in lineage]
    return ", ".join(select) if select else "*"


def _nullity_columns(condition: Any) -> set[str]:
    """Columns a row condition only tests for NULL (its other columns are read for their values)."""
    if isinstance(condition, NullityCondition):
        return {condition.column.name}
    if isinstance(condition, (AndCondition, OrCondition)):
        found: set[str] = set()
        for part in condition.conditions:
            found |= _nullity_columns(part)
        return found
    return set()


def _rule_columns(expectation: Expectation) -> set[str] | None:
    condition_columns = _condition_columns(getattr(expectation, "row_condition", None))
    if condition_columns is None:
        return None
    return set(_columns_of(expectation)) | condition_columns


def _condition_columns(condition: Any) -> set[str] | None:
    """Columns a GX 1.x row condition reads (None for a condition given as a string, which is not parsed here)."""
    if condition is None:
        return set()
    if isinstance(condition, (str, PassThroughCondition)):
        return None
    if isinstance(condition, Column):
        return {condition.name}
    if isinstance(condition, (list, tuple)):
        parts = [_condition_columns(c) for c in condition]
        return None if any(p is None for p in parts) else set().union(*parts)
    if isinstance(condition, Condition):
        found: set[str] = set()
        for value in vars(condition).values():
            if isinstance(value, (Column, Condition, list, tuple)):
                part = _condition_columns(value)
                if part is None:
                    return None
                found |= part
        return found
    return None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ephemeral_context() -> Any:
    # The only GX context the project creates: analytics off here, so no environment variable is needed.
    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


class _SliceValidator:
    """One ephemeral GX context and one whole-dataframe batch definition, reused for every frame of a gate."""

    def __init__(self, gate_name: str):
        context = _ephemeral_context()
        asset = context.data_sources.add_pandas(f"pmw_{gate_name}").add_dataframe_asset("slice")
        self._batch_definition = asset.add_batch_definition_whole_dataframe("whole_slice")
        self._gate_name = gate_name
        self._suites = 0

    def run(
        self,
        con: duckdb.DuckDBPyConnection,
        sql: str,
        expectations: list[Expectation],
        accumulators: list[_Accumulator],
        slice_rows: int,
    ) -> tuple[int, int]:
        return self.run_frames(_stream_frames(con, sql, slice_rows), expectations, accumulators)

    def run_frames(
        self, slices: Iterable[_Slice], expectations: list[Expectation], accumulators: list[_Accumulator]
    ) -> tuple[int, int]:
        suite = self._indexed_suite(expectations)
        rows = count = 0
        for piece in slices:
            frame = piece.frame
            validation = self._validate(frame, suite, _RESULT_FORMAT)
            judged = set()
            to_attribute = []
            for result in validation.results:
                index = result.expectation_config.meta[_RULE_INDEX_KEY]
                accumulators[index].add(result, frame)
                judged.add(index)
                if not result.success and (result.result or {}).get("unexpected_count"):
                    to_attribute.append(index)
            if len(judged) != len(expectations):
                # A rule without a verdict must not read as passed.
                missing = [expectations[i].expectation_type for i in range(len(expectations)) if i not in judged]
                raise RuntimeError(f"{self._gate_name}: GX returned no result for {missing}")
            if to_attribute:
                attributable = piece.with_lineage()
                if FILE_COLUMNS[0] in attributable.columns:
                    self._attribute(attributable, suite, to_attribute, accumulators)
            rows += len(frame)
            count += 1
        return rows, count

    def _validate(self, frame: pd.DataFrame, suite: gx.ExpectationSuite, result_format: dict[str, Any]) -> Any:
        # GX's Validator on the batch definition, as Batch.validate builds it, without fetching the batch first
        # through get_batch: each fetch fingerprints the whole frame (pandas hashing, about 1 s per 1M rows).
        validator = V1Validator(
            batch_definition=self._batch_definition, batch_parameters={"dataframe": frame}, result_format=result_format
        )
        return validator.validate_expectation_suite(suite)

    def _attribute(
        self, frame: pd.DataFrame, suite: gx.ExpectationSuite, indexes: list[int], accumulators: list[_Accumulator]
    ) -> None:
        """Re-judge only the rules that failed on this slice, asking GX for each unexpected row's lineage columns,
        so the failure names its files. Costs nothing while the data is good."""
        index_columns = [c for c in (*FILE_COLUMNS, *ROW_LOCATION_COLUMNS) if c in frame.columns]
        failed = gx.ExpectationSuite(
            name=f"{suite.name}_attribution",
            expectations=[e.copy(update={"id": None}, deep=True) for e in suite.expectations if _index(e) in indexes],
        )
        validation = self._validate(
            frame,
            failed,
            {
                "result_format": "COMPLETE",
                "unexpected_index_column_names": index_columns,
                "return_unexpected_index_query": False,
            },
        )
        for result in validation.results:
            accumulators[_index(result.expectation_config)].attribute_rows(
                (result.result or {}).get("unexpected_index_list") or []
            )

    def _indexed_suite(self, expectations: list[Expectation]) -> gx.ExpectationSuite:
        # GX returns results in its own order and only suites saved to a store get expectation ids,
        # so each copy carries its position in meta to map results back.
        self._suites += 1
        copies = [
            e.copy(update={"id": None, "meta": {**(e.meta or {}), _RULE_INDEX_KEY: i}}, deep=True)
            for i, e in enumerate(expectations)
        ]
        return gx.ExpectationSuite(name=f"{self._gate_name}_{self._suites}", expectations=copies)


def _index(expectation: Any) -> int:
    return expectation.meta[_RULE_INDEX_KEY]


@dataclass(frozen=True)
class _Slice:
    """Rows GX validates, and the lineage columns of the same rows kept aside (None: the frame has its own)."""

    frame: pd.DataFrame
    lineage: pa.Table | None = None

    def with_lineage(self) -> pd.DataFrame:
        """The frame with the real lineage values (over a lineage column's NULL marker, if a rule read it)."""
        if self.lineage is None or self.lineage.num_columns == 0:
            return self.frame
        lineage = _to_pandas(self.lineage)
        lineage.index = self.frame.index
        return self.frame.assign(**{name: lineage[name] for name in lineage.columns})


def _stream_frames(con: duckdb.DuckDBPyConnection, sql: str, slice_rows: int) -> Iterator[_Slice]:
    """Slices of at most ``slice_rows`` rows from one streaming query, via Arrow (5x faster than DuckDB's own
    pandas conversion on string-heavy rows). An empty result still yields one empty, typed frame so every rule
    gets a verdict. Columns named with the lineage prefix become the slice's lineage."""
    if slice_rows < 1:
        raise ValueError(f"slice_rows must be at least 1, got {slice_rows}")
    # A cursor of its own: the caller's connection may hold a pending result of its own.
    cursor = con.cursor()
    try:
        cursor.execute("set enable_progress_bar = false")  # a gate's log is its result, not a terminal bar
        reader = cursor.sql(sql).to_arrow_reader(slice_rows)
        # DuckDB ends a batch at the end of each file it scans, so a relation of many small files arrives in many
        # small batches; GX pays a fixed cost per frame (~0.2 s), so batches are gathered up to slice_rows first.
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        empty = True
        for batch in reader:
            if batch.num_rows == 0:
                continue
            empty = False
            if pending_rows + batch.num_rows > slice_rows and pending:
                yield _slice(pa.Table.from_batches(pending, schema=reader.schema))
                pending, pending_rows = [], 0
            pending.append(batch)
            pending_rows += batch.num_rows
        if pending:
            yield _slice(pa.Table.from_batches(pending, schema=reader.schema))
        if empty:
            yield _slice(reader.schema.empty_table())
    finally:
        cursor.close()


def _slice(table: pa.Table) -> _Slice:
    names = table.schema.names
    lineage = [n for n in names if n.startswith(_LINEAGE_PREFIX)]
    if not lineage:
        return _Slice(_to_pandas(table))
    kept = table.select([n for n in names if n not in lineage])
    aside = table.select(lineage).rename_columns([n.removeprefix(_LINEAGE_PREFIX) for n in lineage])
    return _Slice(_to_pandas(kept), aside)


def _to_pandas(batch: pa.RecordBatch | pa.Table) -> pd.DataFrame:
    """Arrow to pandas with the types GX handles well.

    - Timestamps and dates become datetime64[ns]: GX vectorises between-rules only for that type and compares
      anything else row by row in Python (about 4 s per 1M rows). A column with a value outside the nanosecond
      range (before 1677 or after 2262, a broken clock) keeps microseconds: slower, still judged correctly.
    - DECIMAL becomes float64 instead of Python Decimal objects; the rules compare with plain numbers, and
      float64 holds the contract's DECIMAL(18,6) to about 15 significant digits.
    """
    columns = []
    for column in batch.columns:
        kind = column.type
        if pa.types.is_decimal(kind):
            column = pc.cast(column, pa.float64())
        elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            try:
                column = pc.cast(column, pa.timestamp("ns", tz=getattr(kind, "tz", None)))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                column = pc.cast(column, pa.timestamp("us")) if pa.types.is_date(kind) else column
        columns.append(column)
    return pa.table(columns, names=batch.schema.names).to_pandas()


class _Accumulator:
    """Combines one rule's per-slice GX results into a verdict for the whole relation."""

    def __init__(self, check: str, expectation: Expectation):
        self.check = check
        self.expectation = expectation
        self.success = True
        self.unexpected_count: int | None = None
        self.element_count = 0
        self.examples: list[Any] = []
        self.observed_value: Any = None
        self.exception: str | None = None
        # file sha256 -> [landing path, unexpected rows, examples]
        self.files: dict[str | None, list[Any]] = {}

    def attribute_rows(self, rows: list[dict[str, Any]]) -> None:
        """Count unexpected rows per landed file; each row is a dict carrying the lineage columns."""
        for row in rows:
            sha = row.get(FILE_COLUMNS[0])
            sha = None if sha is None or (isinstance(sha, float) and math.isnan(sha)) else str(sha)
            entry = self.files.setdefault(sha, [None, 0, []])
            entry[0] = entry[0] or row.get(FILE_COLUMNS[1])
            entry[1] += 1
            if len(entry[2]) < EXAMPLES_PER_FILE:
                entry[2].append({k: v for k, v in row.items() if k not in FILE_COLUMNS})

    def merge_schema_verdict(self, judged: _Accumulator, schemas: list[_FileSchema]) -> None:
        """Fold one file schema's verdict in; a failure is attributed to each file with that schema."""
        self.success = self.success and judged.success
        self.exception = self.exception or judged.exception
        if self.observed_value is None or not judged.success:
            self.observed_value = judged.observed_value
        if not judged.success:
            self.attribute_schema([s for s in schemas if s.path is not None])

    def attribute_schema(self, schemas: list[_FileSchema]) -> None:
        """A failed column-set rule, file by file: the columns each file lacks or has beyond the rule's set."""
        kwargs = self.expectation.configuration.kwargs
        wanted = set(kwargs.get("column_set") or kwargs.get("column_list") or [])
        column = kwargs.get("column")
        for schema in schemas:
            names = {name for name, _ in schema.columns}
            missing = sorted(wanted - names) if wanted else ([column] if column and column not in names else [])
            extra = sorted(names - wanted) if wanted and kwargs.get("exact_match", True) else []
            if missing or extra:
                self.files[schema.file_sha256] = [
                    schema.source_file,
                    len(missing) + len(extra),
                    [{"missing_columns": missing, "unexpected_columns": extra}],
                ]

    @property
    def _counts_violation_rows(self) -> bool:
        # A derived frame of violating rows judged by "row count = 0": each row is one unexpected value.
        return self.expectation.expectation_type in ("expect_table_row_count_to_equal",)

    def add(self, result: Any, frame: pd.DataFrame) -> None:
        self.success = self.success and bool(result.success)
        details = result.result or {}
        if result.exception_info and _exception_message(result.exception_info):
            self.exception = self.exception or _exception_message(result.exception_info)
            self.success = False
        # Rules with a row_condition count only the rows they judged; table-level rules judge the whole frame.
        self.element_count += int(details["element_count"]) if "element_count" in details else len(frame)
        if self._counts_violation_rows:
            self.unexpected_count = (self.unexpected_count or 0) + len(frame)
            self.observed_value = self.unexpected_count
            room = EXAMPLES_PER_RULE - len(self.examples)
            if room > 0 and len(frame):
                self.examples.extend(frame.head(room).to_dict(orient="records"))
            if len(frame) and FILE_COLUMNS[0] in frame.columns:
                self.attribute_rows(frame.to_dict(orient="records"))
            return
        if "unexpected_count" in details:
            self.unexpected_count = (self.unexpected_count or 0) + int(details["unexpected_count"])
        room = EXAMPLES_PER_RULE - len(self.examples)
        if room > 0:
            self.examples.extend((details.get("partial_unexpected_list") or [])[:room])
        if self.observed_value is None and "observed_value" in details:
            self.observed_value = details["observed_value"]

    def outcome(self) -> ExpectationOutcome:
        meta = self.expectation.meta or {}
        columns = _columns_of(self.expectation)
        return ExpectationOutcome(
            check=self.check,
            expectation_type=self.expectation.expectation_type,
            columns=columns,
            severity=meta["severity"],
            success=self.success,
            unexpected_count=self.unexpected_count,
            element_count=self.element_count,
            unexpected_examples=_json_safe(self.examples),
            message=self._message(columns),
            why=meta["why"],
            observed_value=_json_safe(self.observed_value),
            exception=self.exception,
            failing_files=[
                FileFailures(file_sha256=sha, source_file=source_file, unexpected_count=count, examples=examples)
                for sha, (source_file, count, examples) in sorted(
                    self.files.items(), key=lambda item: (item[0] is None, item[0] or "")
                )
            ],
        )

    def _message(self, columns: tuple[str, ...]) -> str:
        subject = f"{self.expectation.expectation_type}({', '.join(columns)})"
        if self.check != "row":
            subject = f"{self.check}: {subject}"
        if self.exception:
            return f"{subject} could not be evaluated: {self.exception}"
        if self.success:
            return f"{subject} passed"
        if self._counts_violation_rows:
            text = f"{subject}: {self.unexpected_count:,} violating row(s)"
        elif self.unexpected_count is not None:
            text = f"{subject}: {self.unexpected_count:,} unexpected of {self.element_count:,}"
        else:
            text = f"{subject}: observed {_json_safe(self.observed_value)!r}"
        if self.examples:
            text += f", e.g. {_json_safe(self.examples[:3])!r}"
        return text


def _columns_of(expectation: Expectation) -> tuple[str, ...]:
    kwargs = expectation.configuration.kwargs
    if kwargs.get("column"):
        return (kwargs["column"],)
    if kwargs.get("column_A"):
        return (kwargs["column_A"], kwargs["column_B"])
    if kwargs.get("column_list"):
        return tuple(kwargs["column_list"])
    return ()


def _check_meta(expectation: Expectation, where: str) -> None:
    meta = expectation.meta or {}
    if meta.get("severity") not in SEVERITIES or not meta.get("why"):
        raise ValueError(
            f"{where}: {expectation.expectation_type} needs meta=rule_meta(severity, why), got meta={meta!r}"
        )


def _check_slice_safe(expectation: Expectation, where: str, *, derived: bool = False) -> None:
    kind = expectation.expectation_type
    if derived and kind == "expect_table_row_count_to_equal" and expectation.configuration.kwargs.get("value") == 0:
        return
    if kind in _SCHEMA_EXPECTATIONS:
        return
    map_kinds = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
    if isinstance(expectation, map_kinds) and kind not in _NOT_SLICE_SAFE:
        return
    raise ValueError(
        f"{where}: {kind} cannot be judged slice by slice; express it as a DerivedCheck "
        "(violating rows judged by ExpectTableRowCountToEqual(value=0), or a per-row map expectation)"
    )


def _exception_message(exception_info: dict[str, Any]) -> str | None:
    # GX reports either one {raised_exception, exception_message} dict or one such dict per failed metric.
    if "raised_exception" in exception_info:
        return exception_info.get("exception_message") if exception_info.get("raised_exception") else None
    for info in exception_info.values():
        if isinstance(info, dict) and info.get("raised_exception"):
            return info.get("exception_message")
    return None


def _utc_naive(moment: dt.datetime) -> dt.datetime:
    """The contract stores naive UTC timestamps; compare like with like."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _json_safe(value: Any) -> Any:
    """Plain JSON types for Dagster metadata and run records (pandas/numpy scalars, timestamps, NaN)."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalar
        return _json_safe(value.item())
    return str(value)
