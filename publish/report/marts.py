"""Read access to a publication's marts for the report, and how far each source's data reaches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb


class ReportError(RuntimeError):
    """The report could not be rendered; publish aborts the release."""


class MissingData(Exception):
    """A section cannot be drawn from what the publication holds; the message says which table and why."""


class Marts:
    """Read access to the marts of one DuckDB file (a publication: tables in `main`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str = "main"):
        self.con = con
        self.schema = schema
        rows = con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = ?",
            [schema],
        ).fetchall()
        self.columns: dict[str, set[str]] = defaultdict(set)
        for table, column in rows:
            self.columns[table].add(column)

    def rows(self, table: str, needed: Iterable[str], where: str = "", order_by: str = "") -> list[dict[str, Any]]:
        """Rows of `table` as dicts; MissingData when the table is absent, lacks a column, or is empty.

        `where` and `order_by` are literals written in this package, never text from the data.
        """
        if table not in self.columns:
            raise MissingData(f"table {table} is not in this publication")
        missing = sorted(set(needed) - self.columns[table])
        if missing:
            raise MissingData(f"table {table} lacks column(s) {', '.join(missing)}")
        sql = f'select * from "{self.schema}"."{table}"'
        if where:
            sql += f" where {where}"
        if order_by:
            sql += f" order by {order_by}"
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if not out:
            raise MissingData(f"table {table} has no rows{' matching ' + where if where else ''}")
        return out

    def newest(self, table: str, column: str, where: str = "") -> date | None:
        """The newest value of a date/timestamp column as a date; None when the table or column is absent or empty."""
        if column not in self.columns.get(table, set()):
            return None
        sql = f'select max("{column}") from "{self.schema}"."{table}"' + (f" where {where}" if where else "")
        value = self.con.execute(sql).fetchall()[0][0]
        return value.date() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class DataThrough:
    """The last day each source has data for: every chart names the one(s) that limit it."""

    product: date | None  # analytics events (funnels, retention, adoption, outcomes)
    surveys: date | None  # NPS/CSAT responses, as the first day of the newest month with responses
    billing: date | None  # the newest month with MRR (first day of the month)
    marketing: date | None  # the newest month with spend (first day of the month)
    delivery: date | None  # the newest ship date in Jira

    @classmethod
    def of(cls, m: Marts) -> DataThrough:
        return cls(
            product=m.newest("fct_active_users", "activity_date"),
            surveys=m.newest("fct_nps", "period_start"),
            billing=m.newest("fct_mrr", "month_start") or m.newest("fct_unit_economics", "month_start"),
            marketing=m.newest("fct_cac", "month_start", where="spend > 0"),
            delivery=m.newest("fct_initiative_delivery", "ship_date"),
        )
