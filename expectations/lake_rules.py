"""Rule builders shared by the raw (lake entity) suites, so every entity states the same rule the same way.

Each builder returns GX expectations (or a DerivedCheck) carrying rule_meta(severity, why); the suite modules
(expectations/raw_<source>_<entity>.py) pick the columns and say why the rule matters for their entity.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from expectations.runner import DerivedCheck, rule_meta

E = gx.expectations

# No export this pipeline reads predates 1990; an earlier time is an epoch (1970) or unit mix-up.
EARLIEST_PLAUSIBLE_TIME = dt.datetime(1990, 1, 1)
# Vendors stamp times from their own clocks; a day of skew is tolerated before a time is "from the future".
CLOCK_SKEW = dt.timedelta(days=1)
# Integer minor units: ten billion in any major unit is beyond any single subscription, invoice or refund; such a
# value is a misplaced decimal, a unit mix-up or an id in an amount column.
MAX_ABS_MINOR_AMOUNT = 1_000_000_000_000
SHA256_HEX = r"^[0-9a-f]{64}$"
LOWER_ISO_CURRENCY = r"^[a-z]{3}$"


def contract_columns(columns: tuple[tuple[str, str], ...], contract_name: str) -> Expectation:
    return E.ExpectTableColumnsToMatchSet(
        column_set=[name for name, _ in columns],
        exact_match=True,
        meta=rule_meta("error", f"the lake files must match the {contract_name} contract that dbt's source reads"),
    )


def not_null(columns: tuple[str, ...], why: str) -> list[Expectation]:
    return [E.ExpectColumnValuesToNotBeNull(column=c, meta=rule_meta("error", why)) for c in columns]


def plausible_times(columns: tuple[str, ...], now: dt.datetime, why: str) -> list[Expectation]:
    """Each time within EARLIEST_PLAUSIBLE_TIME .. now + CLOCK_SKEW (NULLs are the not-null rules' business)."""
    return [
        E.ExpectColumnValuesToBeBetween(
            column=c,
            min_value=EARLIEST_PLAUSIBLE_TIME,
            max_value=now + CLOCK_SKEW,
            meta=rule_meta("error", why),
        )
        for c in columns
    ]


def minor_amounts(columns: tuple[str, ...], *, min_value: int, why: str) -> list[Expectation]:
    return [
        E.ExpectColumnValuesToBeBetween(
            column=c, min_value=min_value, max_value=MAX_ABS_MINOR_AMOUNT, meta=rule_meta("error", why)
        )
        for c in columns
    ]


def one_of(column: str, values: tuple[str, ...], why: str) -> Expectation:
    return E.ExpectColumnValuesToBeInSet(column=column, value_set=list(values), meta=rule_meta("error", why))


def matches(column: str, regex: str, why: str) -> Expectation:
    return E.ExpectColumnValuesToMatchRegex(column=column, regex=regex, meta=rule_meta("error", why))


def not_before(column_a: str, column_b: str, why: str) -> Expectation:
    """column_a >= column_b where both are present (an end after its start)."""
    return E.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=column_a,
        column_B=column_b,
        or_equal=True,
        ignore_row_if="either_value_is_missing",
        meta=rule_meta("error", why),
    )


def not_empty(entity: str) -> DerivedCheck:
    return DerivedCheck(
        name="not_empty",
        sql="select count(*) as row_count from {relation}",
        expectation=E.ExpectColumnValuesToBeBetween(column="row_count", min_value=1),
        severity="warn",
        why=f"files with no loadable {entity} usually mean a wrong export; ingest's manifest has the reject counts",
    )
