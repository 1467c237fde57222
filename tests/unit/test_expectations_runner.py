"""The runner itself: offline and file-free GX, read-only warehouse access, refusal of slice-unsafe rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shlex
import socket
from pathlib import Path

import duckdb
import great_expectations as gx
import pytest
from great_expectations.expectations.row_conditions import Column

from core.config import PipelineConfig, parse_config
from core.settings import Paths
from expectations import (
    GATES,
    DerivedCheck,
    Gate,
    rule_meta,
    validate_parquet_files,
    validate_relation,
    validate_warehouse_table,
)
from expectations.runner import _projection
from ingest.analytics import contract as analytics_contract
from ingest.billing import contract as billing_contract
from ingest.feedback import contract as feedback_contract
from ingest.jira import contract as jira_contract
from ingest.marketing import contract as marketing_contract

NOW = dt.datetime(2024, 6, 1)
E = gx.expectations


@pytest.fixture
def config() -> PipelineConfig:
    return parse_config({"analytics": {"known_events": ["signed_up"]}}, Path("test-pmw.yml"))


def small_gate(*row_rules, derived=()) -> Gate:
    return Gate(
        name="orders",
        target="a test table",
        build_suite=lambda config, *, now: gx.ExpectationSuite(name="orders", expectations=[*row_rules]),
        derived_checks=lambda config: list(derived),
    )


def amount_rule():
    return E.ExpectColumnValuesToBeBetween(column="amount", min_value=0, meta=rule_meta("error", "no negative"))


def make_orders(con: duckdb.DuckDBPyConnection, rows: int = 10) -> str:
    con.execute(
        f"""create or replace table orders as
            select range as order_id, (range - 2) * 1.5 as amount,
                   timestamp '2024-01-01' + to_days(range::int) as ordered_at
            from range({rows})"""
    )
    return "orders"


def test_gx_makes_no_network_call_and_writes_no_files(config, tmp_path, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GX_ANALYTICS_ENABLED", raising=False)  # the context config alone must keep analytics off

    with duckdb.connect() as con:
        result = validate_relation(con, make_orders(con), small_gate(amount_rule()), config=config, now=NOW)

    assert not result.success  # the validation really ran
    assert attempts == []
    assert list(tmp_path.iterdir()) == []  # no gx/ project directory, no stores


def test_result_is_json_serialisable_and_summarised_on_one_line(config):
    gate = small_gate(
        amount_rule(),
        E.ExpectColumnValuesToBeBetween(
            column="ordered_at", max_value=dt.datetime(2024, 1, 3), meta=rule_meta("warn", "recent orders only")
        ),
        derived=[
            DerivedCheck(
                name="no_big_orders",
                sql="select order_id, ordered_at, amount from {relation} where amount > 6",
                expectation=E.ExpectTableRowCountToEqual(value=0),
                severity="warn",
                why="big orders are reviewed by hand",
            )
        ],
    )
    with duckdb.connect() as con:
        result = validate_relation(con, make_orders(con), gate, config=config, now=NOW)

    record = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert record["success"] is False
    assert record["failed_errors"] == 1 and record["warnings"] == 2
    by_check = {(r["check"], tuple(r["columns"])): r for r in record["expectations"]}
    assert by_check[("row", ("amount",))]["unexpected_examples"] == [-3.0, -1.5]
    assert by_check[("row", ("ordered_at",))]["unexpected_examples"][0] == "2024-01-04T00:00:00"
    big = by_check[("no_big_orders", ())]
    assert big["unexpected_count"] == 3
    assert big["unexpected_examples"][0] == {"order_id": 7, "ordered_at": "2024-01-08T00:00:00", "amount": 7.5}
    summary = result.summary()
    assert "\n" not in summary
    assert summary.startswith("orders FAILED: 3 rules, 1 error(s), 2 warning(s) over 10 rows")


def test_a_rule_on_a_missing_column_fails_with_the_reason(config):
    gate = small_gate(E.ExpectColumnValuesToNotBeNull(column="customer_id", meta=rule_meta("error", "who paid")))
    with duckdb.connect() as con:
        result = validate_relation(con, make_orders(con), gate, config=config, now=NOW)

    (outcome,) = result.failed_errors
    assert outcome.exception and "customer_id" in outcome.exception
    assert "could not be evaluated" in outcome.message


@pytest.mark.parametrize(
    "rule",
    [
        E.ExpectColumnValuesToBeUnique(column="order_id", meta=rule_meta("error", "key")),
        E.ExpectColumnMaxToBeBetween(column="amount", max_value=100, meta=rule_meta("error", "cap")),
        E.ExpectTableRowCountToBeBetween(min_value=1, meta=rule_meta("error", "not empty")),
    ],
)
def test_rules_that_cannot_be_judged_slice_by_slice_are_refused(config, rule):
    with duckdb.connect() as con, pytest.raises(ValueError, match="cannot be judged slice by slice"):
        validate_relation(con, make_orders(con), small_gate(rule), config=config, now=NOW)


def test_a_rule_without_severity_and_reason_is_refused(config):
    bare = E.ExpectColumnValuesToNotBeNull(column="order_id")
    with duckdb.connect() as con, pytest.raises(ValueError, match="rule_meta"):
        validate_relation(con, make_orders(con), small_gate(bare), config=config, now=NOW)
    with pytest.raises(ValueError, match="severity"):
        rule_meta("fatal", "x")


def test_warehouse_table_is_read_only_and_released(config, tmp_path):
    warehouse = tmp_path / "pmw.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        make_orders(con, rows=5_000)

    result = validate_warehouse_table(warehouse, "main.orders", small_gate(amount_rule()), slice_rows=2_048)

    assert result.slices >= 3 and result.rows_validated == 5_000
    assert result.failed_errors[0].unexpected_count == 2
    # the file lock is gone: a writer can open it again straight away
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into orders values (99999, 1.0, timestamp '2024-01-01')")


def test_warehouse_table_names_are_whitelisted(config, tmp_path):
    with pytest.raises(ValueError, match="plain"):
        validate_warehouse_table(tmp_path / "x.duckdb", "orders; drop table orders", small_gate(amount_rule()))


def test_every_registered_gate_builds_slice_safe_rules_with_reasons(config):
    full = parse_config(
        {
            "analytics": {"known_events": ["a", "b"]},
            "funnels": [{"name": "f", "steps": ["a", "b"]}],
            "retention": [{"name": "r", "start_event": "a", "return_event": "b"}],
        },
        Path("test-pmw.yml"),
    )
    lake_entities = {
        "analytics": {analytics_contract.ENTITY: analytics_contract.EVENT_COLUMNS},
        "jira": jira_contract.ENTITIES,
        "feedback": feedback_contract.ENTITIES,
        "billing": billing_contract.ENTITIES,
        "marketing": marketing_contract.ENTITIES,
    }
    raw_gates = {
        f"raw_{source}_{entity}": columns for source, es in lake_entities.items() for entity, columns in es.items()
    }
    # Every lake entity is gated before promotion, against its own contract.
    assert {name for name in GATES if name.startswith("raw_")} == set(raw_gates)
    for name, columns in raw_gates.items():
        assert GATES[name].contract == columns, name
    assert {name for name in GATES if not name.startswith("raw_")} == {
        "fct_funnel_conversion",
        "fct_retention_cohorts",
        "fct_issue_cycle_times",
        "fct_initiative_delivery",
        "fct_initiative_outcomes",
        "fct_nps",
        "fct_kano_features",
        "fct_mrr",
        "fct_unit_economics",
        "fct_portfolio_scores",
    }
    for name, gate in GATES.items():
        assert gate.name == name
        suite = gate.build_suite(full, now=NOW)
        # A mart gate may keep only rules across rows/columns (derived checks) once dbt owns its column rules.
        assert suite.expectations or gate.name.startswith("fct_"), name
        for expectation in suite.expectations:
            assert expectation.meta["severity"] in ("error", "warn")
            assert expectation.meta["why"]
        assert gate.derived_checks(full), name


def _lake_file(con: duckdb.DuckDBPyConnection, directory: Path, sha: str, rows: int, *, bad_rows: int = 0) -> Path:
    """A lake-style Parquet file (named after its landed file's sha256, lineage columns inside)."""
    path = directory / f"{sha}.parquet"
    con.execute(
        f"""copy (
                select range as order_id,
                       cast(case when range < {bad_rows} then -1.0 else 1.5 end as double) as amount,
                       '{sha}' as _file_sha256, 'orders/{sha[:6]}.csv' as _source_file, range + 1 as _record_number
                from range({rows})
            ) to '{path}' (format parquet)"""
    )
    return path


def test_a_failure_names_exactly_the_file_it_came_from(config, tmp_path):
    with duckdb.connect() as con:
        good = [_lake_file(con, tmp_path, sha * 64, 50) for sha in "abc"]
        bad = _lake_file(con, tmp_path, "d" * 64, 50, bad_rows=4)
    gate = small_gate(amount_rule())

    result = validate_parquet_files([*good, bad], gate, config=config, now=NOW)

    assert not result.success
    (failing,) = result.failing_files()
    assert failing["file_sha256"] == "d" * 64
    assert failing["source_file"] == "orders/dddddd.csv"
    assert failing["rules"] == [{"rule": "expect_column_values_to_be_between(amount)", "unexpected_count": 4}]
    assert [e["row"] for e in failing["examples"]] == [{"amount": -1.0, "_record_number": n} for n in (1, 2, 3)]
    assert result.to_dict()["failing_files"] == [failing]
    assert "d" * 64 in result.summary() and "a" * 64 not in result.summary()


def test_attribution_adds_up_across_slices_and_costs_nothing_when_data_is_good(config, tmp_path):
    with duckdb.connect() as con:
        files = [_lake_file(con, tmp_path, sha * 64, 3_000, bad_rows=bad) for sha, bad in (("a", 0), ("b", 2_500))]
    gate = small_gate(amount_rule())

    sliced = validate_parquet_files(files, gate, config=config, now=NOW, slice_rows=1_024)
    clean = validate_parquet_files(files[:1], gate, config=config, now=NOW)

    assert sliced.slices >= 5
    assert [(f["file_sha256"], f["rules"][0]["unexpected_count"]) for f in sliced.failing_files()] == [
        ("b" * 64, 2_500)
    ]
    assert clean.success and clean.failing_files() == []


def test_a_file_of_the_wrong_type_is_named_by_the_contract_rule(config, tmp_path):
    contract = (("order_id", "BIGINT"), ("amount", "DOUBLE"), ("_file_sha256", "VARCHAR"), ("_source_file", "VARCHAR"))
    with duckdb.connect() as con:
        good = _lake_file(con, tmp_path, "a" * 64, 5)
        mistyped = tmp_path / f"{'e' * 64}.parquet"
        con.execute(
            f"""copy (select range as order_id, cast(range as varchar) as amount, '{"e" * 64}' as _file_sha256,
                             'orders/e.csv' as _source_file from range(5)) to '{mistyped}' (format parquet)"""
        )
    gate = dataclasses.replace(small_gate(), contract=contract)

    result = validate_parquet_files([good, mistyped], gate, config=config, now=NOW)

    (rule,) = result.failed_errors
    assert rule.check == "column_types_match_contract"
    assert [(f.file_sha256, f.source_file) for f in rule.failing_files] == [("e" * 64, "orders/e.csv")]
    assert rule.failing_files[0].examples == [{"column": "amount", "expected_type": "DOUBLE", "actual_type": "VARCHAR"}]


def test_a_missing_column_is_named_per_file_by_the_schema_rule(config, tmp_path):
    columns = ["order_id", "amount", "_file_sha256", "_source_file", "_record_number"]
    schema_rule = E.ExpectTableColumnsToMatchSet(
        column_set=columns, exact_match=True, meta=rule_meta("error", "the contract")
    )
    with duckdb.connect() as con:
        good = _lake_file(con, tmp_path, "a" * 64, 5)
        short = tmp_path / f"{'f' * 64}.parquet"
        con.execute(
            f"""copy (select range as order_id, '{"f" * 64}' as _file_sha256, 'orders/f.csv' as _source_file,
                             range + 1 as _record_number from range(5)) to '{short}' (format parquet)"""
        )

    result = validate_parquet_files([good, short], small_gate(schema_rule), config=config, now=NOW)

    (failing,) = result.failing_files()
    assert (failing["file_sha256"], failing["source_file"]) == ("f" * 64, "orders/f.csv")
    assert failing["examples"][0]["row"] == {"missing_columns": ["amount"], "unexpected_columns": []}


def test_row_rules_read_only_the_columns_they_need(config):
    wide = E.ExpectColumnValuesToNotBeNull(
        column="ordered_at", row_condition=Column("amount") > 0, meta=rule_meta("error", "a time")
    )
    # ordered_at is only tested for NULL: read as a NULL-or-1 marker; the lineage column rides along aside.
    assert _projection([amount_rule(), wide], ["order_id", "amount", "ordered_at", "note", "_file_sha256"]) == (
        '"amount", case when "ordered_at" is not null then 1::utinyint end as "ordered_at", '
        '"_file_sha256" as "__pmw_lineage___file_sha256"'
    )
    # A column also read for its value (here by a row condition) is read as it is.
    by_time = E.ExpectColumnValuesToNotBeNull(
        column="amount", row_condition=Column("ordered_at") > NOW, meta=rule_meta("error", "an amount")
    )
    anonymous = E.ExpectColumnValuesToNotBeNull(
        column="order_id", row_condition=Column("note").is_null(), meta=rule_meta("error", "an order")
    )
    assert _projection([wide, by_time, anonymous], ["order_id", "amount", "ordered_at", "note"]) == (
        'case when "order_id" is not null then 1::utinyint end as "order_id", "amount", "ordered_at", '
        'case when "note" is not null then 1::utinyint end as "note"'
    )


def test_null_markers_keep_the_verdict_counts_and_examples_of_not_null_rules(config, tmp_path):
    """A NULL-only column read as a marker fails the same rows, with the same examples and file attribution."""
    files = []
    with duckdb.connect() as con:
        for sha in "abc":
            files.append(tmp_path / f"{sha * 64}.parquet")
            # Only file c has orders without a note (every fourth).
            missing = "range % 4 = 0" if sha == "c" else "false"
            con.execute(
                f"""copy (select range as order_id, case when {missing} then null else 'n' || range end as note,
                                 '{sha * 64}' as _file_sha256, 'orders/{sha}.csv' as _source_file,
                                 range + 1 as _record_number from range(40)) to '{files[-1]}' (format parquet)"""
            )
    gate = small_gate(
        E.ExpectColumnValuesToNotBeNull(column="note", meta=rule_meta("error", "every order has a note")),
        E.ExpectColumnValuesToNotBeNull(
            column="_file_sha256", row_condition=Column("note").is_null(), meta=rule_meta("error", "lineage")
        ),
    )
    result = validate_parquet_files(files, gate, config=config, now=NOW, slice_rows=32)
    note_rule = next(r for r in result.results if r.columns == ("note",))
    assert (note_rule.success, note_rule.unexpected_count, note_rule.element_count) == (False, 10, 120)
    assert note_rule.unexpected_examples == [None] * 5
    (failing,) = result.failing_files()
    assert (failing["file_sha256"], failing["source_file"]) == ("c" * 64, "orders/c.csv")
    assert failing["rules"] == [{"rule": "expect_column_values_to_not_be_null(note)", "unexpected_count": 10}]
    assert [e["row"]["_record_number"] for e in failing["examples"]] == [1, 5, 9]
    lineage_rule = next(r for r in result.results if r.columns == ("_file_sha256",))
    assert lineage_rule.success and lineage_rule.element_count == 10


def test_the_discard_command_in_a_gate_failure_is_the_real_cli_syntax(tmp_path):
    from orchestration.checks.gates import discard_command
    from pmw.cli import build_parser

    command = discard_command(Paths(tmp_path / "my data"), "billing", "d" * 64)

    words = shlex.split(command)
    assert words[0] == "pmw"
    args = build_parser().parse_args(words[1:])
    assert (args.command, args.sha256, args.source, args.data_dir) == (
        "discard",
        "d" * 64,
        "billing",
        str(tmp_path / "my data"),
    )
    assert args.reason
