"""Reading the scoring inputs from the warehouse marts and writing the two portfolio tables back, atomically.

DuckDB only, no Dagster: orchestration/assets/portfolio.py calls ``read_inputs`` -> scoring -> ``write_tables``.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from core.config import PipelineConfig
from portfolio.scoring import DAYS_PER_QUARTER, KANO_MIX_COLUMNS, SCORE_COLUMNS, PortfolioScores

SCHEMA = "marts"
INPUT_MARTS = {  # scoring input -> the mart it is read from
    "initiatives": "fct_initiative_delivery",
    "ideas": "dim_ideas",
    "outcomes": "fct_initiative_outcomes",
    "kano": "fct_kano_features",
    "requests": "fct_feature_requests",
}
DUCKDB_TYPES = {"string": "VARCHAR", "Float64": "DOUBLE", "Int32": "INTEGER", "Int64": "BIGINT"}


class MissingMartError(LookupError):
    """A mart the portfolio reads is not in the warehouse."""


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    query = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    return con.execute(query, [SCHEMA, name]).fetchall()[0][0] > 0


def _table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    if not _exists(con, name):
        raise MissingMartError(f"the portfolio reads {SCHEMA}.{name}, which is not in the warehouse (build the marts)")
    return con.execute(f'select * from "{SCHEMA}"."{name}"').df()


def segment_sizes(con: duckdb.DuckDBPyConnection, config: PipelineConfig) -> pd.DataFrame:
    """Per configured initiative: users entering its target metric per 91 days, from the metric marts.

    funnel_step: users at step 1 of the funnel ('(all)' breakdown) summed over its periods, scaled from the days
    those periods span to 91; retention: cohort users over the cohorts' span the same way. An approximation of the
    affected segment (users entering in two periods count twice). Other metric types have no segment here.
    """
    rows = []
    grain_days = "case period_grain when 'day' then 1 when 'week' then 7 else 30.4375 end"
    for initiative in config.initiatives:
        metric = initiative.target_metric
        result = []
        if metric.get("type") == "funnel_step" and metric.get("funnel"):
            result = con.execute(
                f"""
                select sum(users_at_first_step) * {DAYS_PER_QUARTER}
                       / (datediff('day', min(period_start), max(period_start)) + max({grain_days})),
                       any_value(step_event)
                from {SCHEMA}.fct_funnel_conversion
                where funnel_name = ? and step_index = 1 and breakdown_value = '(all)'
                """,
                [metric["funnel"]],
            ).fetchall()
        elif metric.get("type") == "retention" and metric.get("retention"):
            result = con.execute(
                f"""
                with cohorts as (
                    select distinct cohort_start, cohort_users, period_grain, start_event
                    from {SCHEMA}.fct_retention_cohorts where retention_name = ? and breakdown_value = '(all)'
                )
                select sum(cohort_users) * {DAYS_PER_QUARTER}
                       / (datediff('day', min(cohort_start), max(cohort_start)) + max({grain_days})),
                       any_value(start_event)
                from cohorts
                """,
                [metric["retention"]],
            ).fetchall()
        if result and result[0][0] is not None:
            rows.append(
                {"initiative_key": initiative.key, "users_per_quarter": result[0][0], "segment_event": result[0][1]}
            )
    return pd.DataFrame(rows, columns=["initiative_key", "users_per_quarter", "segment_event"])


def read_inputs(con: duckdb.DuckDBPyConnection, config: PipelineConfig) -> dict[str, pd.DataFrame]:
    """The scoring inputs: keyword arguments of portfolio.scoring.score_portfolio, config aside.

    Every input mart must exist (a missing one raises LookupError naming it): scoring shipped initiatives
    without their measured outcomes would silently fall back to typed-in guesses.
    """
    frames = {name: _table(con, mart) for name, mart in INPUT_MARTS.items()}
    frames["segments"] = segment_sizes(con, config)
    return frames


def write_tables(con: duckdb.DuckDBPyConnection, result: PortfolioScores) -> dict[str, int]:
    """Create or replace marts.fct_portfolio_scores and marts.fct_portfolio_kano_mix in one transaction: readers
    see both old tables or both new ones. Returns the row count written per table."""
    written = {}
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {SCHEMA}")
        for name, frame, columns in (
            ("fct_portfolio_scores", result.scores, SCORE_COLUMNS),
            ("fct_portfolio_kano_mix", result.kano_mix, KANO_MIX_COLUMNS),
        ):
            view = f"{name}_frame_"
            con.register(view, frame)
            select = ", ".join(f'cast("{c}" as {DUCKDB_TYPES[t]}) as "{c}"' for c, t in columns.items())
            con.execute(f"create or replace table {SCHEMA}.{name} as select {select} from {view}")
            con.unregister(view)
            written[name] = con.execute(f"select count(*) from {SCHEMA}.{name}").fetchall()[0][0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return written
