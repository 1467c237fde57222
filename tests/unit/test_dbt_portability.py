"""The dbt project stays buildable on both adapters (DuckDB, Spark; docs/scale-out.md).

Two rules, read from the project's files (no dbt run):
- every declared column type (models' contracts, sources, seeds' column_types) renders, per adapter, to a type
  that adapter accepts: DuckDB parses it, Spark's grammar has it (so no `varchar`, `varchar[]`, `bigint[]`);
- DuckDB-only SQL appears only inside a `duckdb__` macro, and each `duckdb__` macro has a portable version.
The scanners are unit-tested on small texts too, so a rule that matches nothing is noticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import duckdb
import pytest
import yaml

from core.settings import DBT_PROJECT_DIR
from tests.support.contract_types import rendered_type

# Spark SQL's type names as dbt-spark's contract check and CREATE TABLE take them (Spark 4.0 grammar, the subset a
# contract may use here). Anything else, DuckDB spellings included, fails the check on Spark.
SPARK_SCALAR = (
    r"(?:string|boolean|tinyint|smallint|int|integer|bigint|float|double|date|timestamp|timestamp_ntz|binary"
    r"|decimal\(\s*\d+\s*,\s*\d+\s*\))"
)
SPARK_TYPE = re.compile(rf"^(?:{SPARK_SCALAR}|array<\s*{SPARK_SCALAR}\s*>)$", re.IGNORECASE)

# SQL only DuckDB runs: (pattern, why). Matched on model and macro text without its jinja, SQL comments and
# string literals (strip_non_sql). Each has a dispatched macro (duckdb__ + a portable version) or a portable spelling.
DUCKDB_ONLY = [
    (r"::\s*[a-z]", "`::` cast (use cast(... as ...))"),
    (r"\bvarchar\b", "varchar (use {{ dbt.type_string() }}; Spark's varchar needs a length)"),
    (r"\b[a-z]+\s*\[\s*\]", "list type `x[]` (Spark: array<x>)"),
    (r"\bwith\s+recursive\b", "recursive CTE (Spark before 4.1 has none)"),
    (r"\bread_parquet\s*\(", "read_parquet (lake sources go through source()/lake_source())"),
    (r"\bepoch(?:_ms)?\s*\(", "epoch() (seconds_between)"),
    (r"\blist_[a-z_]+\s*\(", "DuckDB list function"),
    (r"\bunnest\s*\(", "unnest (explode_array)"),
    (r"\bstring_split(?:_regex)?\s*\(", "string_split (split_comma_list)"),
    (r"\bstring_agg\s*\(", "string_agg (dbt.listagg)"),
    (r"\bstruct_pack\s*\(", "struct_pack"),
    (r"\basof\s+(?:left\s+)?join\b", "ASOF join (funnel_paths)"),
    (r"\bdate_diff\s*\(", "date_diff (dbt.datediff)"),
    (r"\bstrftime\s*\(", "strftime"),
    (r"\bregexp_matches\s*\(", "regexp_matches"),
    (r"\bjson_extract(?:_string)?\s*\(|->>", "DuckDB JSON access (json_text)"),
    (r"\bquantile_cont\s*\(", "quantile_cont (median)"),
    (r"\b(?:hugeint|ubigint|timestamptz)\b", "DuckDB-only type"),
    (r"\bcreate\s+or\s+replace\s+table\b", "CREATE OR REPLACE TABLE (plain Spark Parquet tables have none)"),
]
# libyaml's loader when PyYAML has it: the project's yml is ~1 MB, ten times faster to read.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\s*\(.*?%}(.*?){%-?\s*endmacro\s*-?%}", re.DOTALL)


def strip_non_sql(text: str) -> str:
    """The SQL text only: jinja comments, jinja tags and expressions (the macro calls that stand in for engine SQL,
    the template logic), SQL line comments and string literals blanked."""
    text = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", " ", text, flags=re.DOTALL)
    text = re.sub(r"--[^\n]*", " ", text)
    return re.sub(r"'(?:[^']|'')*'", "''", text)


def duckdb_only_constructs(sql: str) -> list[str]:
    """The DuckDB-only constructs in a piece of SQL (with jinja), as their explanations."""
    cleaned = strip_non_sql(sql)
    return [why for pattern, why in DUCKDB_ONLY if re.search(pattern, cleaned, re.IGNORECASE)]


def macros_in(text: str) -> dict[str, str]:
    return {name: body for name, body in MACRO.findall(text)}


def declared_types() -> Iterator[tuple[str, str]]:
    """(where, declared type) for every column type the project's yml declares."""
    for path in sorted([*(DBT_PROJECT_DIR / "models").rglob("*.yml"), *(DBT_PROJECT_DIR / "seeds").rglob("*.yml")]):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER) or {}
        where = path.relative_to(DBT_PROJECT_DIR)
        for model in document.get("models", []):
            for column in model.get("columns", []):
                if "data_type" in column:
                    yield f"{where}: {model['name']}.{column['name']}", column["data_type"]
        for source in document.get("sources", []):
            for table in source.get("tables", []):
                for column in table.get("columns", []):
                    if "data_type" in column:
                        yield f"{where}: {source['name']}.{table['name']}.{column['name']}", column["data_type"]
        for seed in document.get("seeds", []):
            for column, declared in (seed.get("config", {}).get("column_types") or {}).items():
                yield f"{where}: {seed['name']}.{column}", declared


# --------------------------------------------------------------------------------------------------------------
# The project
# --------------------------------------------------------------------------------------------------------------


def test_the_project_declares_column_types():
    # Guards the scan below against reading nothing (a moved folder, a renamed key).
    assert len(list(declared_types())) > 300


def test_every_declared_type_is_valid_on_both_adapters():
    wrong = []
    for where, declared in declared_types():
        spark = rendered_type(declared, "spark")
        if not SPARK_TYPE.match(spark):
            wrong.append(f"{where}: {declared!r} is {spark!r} on Spark")
        try:
            duckdb.sql(f"select cast(null as {rendered_type(declared, 'duckdb')})")
        except duckdb.Error as error:
            wrong.append(f"{where}: {declared!r} on DuckDB: {error}")
    assert not wrong, "\n".join(wrong)


def test_models_use_no_duckdb_only_sql():
    found = {
        str(path.relative_to(DBT_PROJECT_DIR)): constructs
        for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.sql"))
        if (constructs := duckdb_only_constructs(path.read_text(encoding="utf-8")))
    }
    assert not found, found


def test_incremental_models_take_their_strategy_from_the_per_adapter_macros():
    # delete+insert, DuckDB's strategy here, is refused by dbt-spark on Parquet tables (incremental_strategy.sql).
    literal = re.compile(
        r"\b(?:incremental_strategy|materialized)\s*=\s*['\"](?:incremental|delete\+insert|merge)['\"]"
    )
    found = [
        str(path.relative_to(DBT_PROJECT_DIR))
        for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.sql"))
        if literal.search(path.read_text(encoding="utf-8"))
    ]
    assert not found, f"use pmw_incremental_materialization()/pmw_incremental_strategy(): {found}"
    assert literal.search("config(materialized='incremental', incremental_strategy='delete+insert')")


def test_duckdb_only_sql_lives_in_duckdb_macros_with_a_portable_version():
    macros: dict[str, str] = {}
    for path in sorted((DBT_PROJECT_DIR / "macros").rglob("*.sql")):
        macros.update(macros_in(path.read_text(encoding="utf-8")))
    assert len(macros) > 30
    outside = {
        name: constructs
        for name, body in macros.items()
        if not name.startswith("duckdb__") and (constructs := duckdb_only_constructs(body))
    }
    assert not outside, outside
    duckdb_versions = [name.removeprefix("duckdb__") for name in macros if name.startswith("duckdb__")]
    assert duckdb_versions, "no duckdb__ macro found: the scan reads the wrong files"
    without_fallback = [
        name for name in duckdb_versions if f"default__{name}" not in macros and f"spark__{name}" not in macros
    ]
    assert not without_fallback, without_fallback


# --------------------------------------------------------------------------------------------------------------
# The scanners themselves
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "declared",
    ["varchar", "varchar[]", "bigint[]", "hugeint", "{{ 'array<string>' if target.type == 'duckdb' else 'x' }}"],
)
def test_a_duckdb_only_type_is_refused_on_spark(declared):
    assert not SPARK_TYPE.match(rendered_type(declared, "spark"))


@pytest.mark.parametrize(
    "declared",
    ["string", "double", "decimal(18, 4)", "{{ 'array<string>' if target.type == 'spark' else 'varchar[]' }}"],
)
def test_a_portable_type_passes_on_spark(declared):
    assert SPARK_TYPE.match(rendered_type(declared, "spark"))


@pytest.mark.parametrize(
    "sql",
    [
        "select x::varchar from t",
        "with recursive walk as (select 1)",
        "select cast(ids as bigint[]) from t",
        "select unnest(ids) from t",
        "select epoch(b) - epoch(a) from t",
        "create or replace table t as select 1",
    ],
)
def test_a_duckdb_only_construct_is_found(sql):
    assert duckdb_only_constructs(sql)


def test_comments_literals_and_macro_calls_are_not_constructs():
    sql = """
        {#- was `with recursive` before the walk was unrolled -#}
        {%- set ids = config_ids or [] -%}
        -- unnest(ids) in DuckDB
        select '::varchar' as note, {{ explode_array('ids') }} as id, cast(x as {{ dbt.type_string() }}) from t
    """
    assert duckdb_only_constructs(sql) == []


def test_macros_are_split_by_name():
    text = "{% macro duckdb__f(x) -%} unnest(x) {%- endmacro %}\n{% macro default__f(x) -%} explode(x) {%- endmacro %}"
    assert macros_in(text) == {"duckdb__f": " unnest(x) ", "default__f": " explode(x) "}
