"""The retention model vs a hand-written reference query, measured in the same run (compare ratios, not absolutes).

    .venv/bin/python bench/bench_retention.py --events 1000000 [--users 100000] [--repeat 3] [--breakdown platform]

Builds N synthetic events in DuckDB over 60 days (sign-ups, returns, noise; platforms ios / android / web and 5 %
of sign-ups without one), compiles the real `fct_retention_cohorts` model with dbt for one daily retention
(signed_up -> report_created, periods 0, 1, 3, 7, 14, 28) and times:
  reference  one hand-written query: cohorts by the first signed_up, each user's return periods, then users on /
             on or after each period per cohort, NULL while the period has not fully elapsed (the '(all)' numbers)
  model      the compiled dbt model's SELECT as CREATE TABLE AS, with --breakdown (default: none) as the
             retention's breakdown_property, so its breakdown rows are computed too
Checks that the model's '(all)' rows equal the reference's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from dbt_compile import compiled_model_sql

from core.config import load_config

PERIODS = (0, 1, 3, 7, 14, 28)


def retention_vars(breakdown_property: str | None) -> dict:
    """The sample configuration's vars (every model parses with them) with this bench's one retention analysis."""
    retention = {
        "name": "bench_daily",
        "start_event": "signed_up",
        "return_event": "report_created",
        "period": "day",
        "periods": list(PERIODS),
    }
    if breakdown_property:
        retention["breakdown_property"] = breakdown_property
    # No initiatives: the sample's target the sample's retention analyses, which this bench replaces.
    return {**load_config().dbt_vars(), "retention": [retention], "initiatives": []}


def build_events(con: duckdb.DuckDBPyConnection, events: int, users: int, seed: float = 0.42) -> None:
    """int_events_sessionized's columns the model reads, spread over 60 days from 2024-03-01."""
    con.execute(f"select setseed({seed})")
    con.execute("create schema if not exists intermediate")
    con.execute(
        f"""
        create or replace table intermediate.int_events_sessionized as
        with raw as (
            select range as n, (random() * {users})::bigint as user_n, random() as r_event, random() as r_time,
                random() as r_platform
            from range({events})
        )
        select
            'e' || n as event_id,
            'u' || user_n as user_key,
            case
                when r_event < 0.05 then 'signed_up'
                when r_event < 0.25 then 'report_created'
                else 'page_viewed'
            end as event_name,
            timestamp '2024-03-01' + to_seconds((r_time * 60 * 86400)::bigint) as event_at,
            'amplitude' as source,
            case
                when r_platform < 0.05 then null
                when r_platform < 0.45 then 'ios'
                when r_platform < 0.75 then 'android'
                else 'web'
            end as platform,
            'US' as country,
            '{{}}' as properties
        from raw
        """
    )


def model_sql(work: Path, breakdown_property: str | None) -> str:
    """The model's SELECT as dbt renders it for this retention, pointed at the bench database's tables."""
    return compiled_model_sql(
        work, "fct_retention_cohorts", retention_vars(breakdown_property), f"target_{breakdown_property or 'none'}"
    )


REFERENCE = f"""
create or replace table reference_result as
with cohort_users as (
    select user_key, min(event_at) as cohort_event_at, cast(min(event_at) as date) as cohort_start
    from intermediate.int_events_sessionized where event_name = 'signed_up' group by user_key
),
user_periods as (
    select c.user_key, c.cohort_start,
        list(distinct datediff('day', c.cohort_start, cast(e.event_at as date))) as return_periods,
        max(datediff('day', c.cohort_start, cast(e.event_at as date))) as last_return_period
    from cohort_users c
    join intermediate.int_events_sessionized e
        on e.user_key = c.user_key and e.event_name = 'report_created' and e.event_at > c.cohort_event_at
    group by c.user_key, c.cohort_start
),
periods as (select unnest({list(PERIODS)!r}) as period_number),
cohorts as (select cohort_start, count(*) as cohort_users from cohort_users group by cohort_start),
counts as (
    select u.cohort_start, p.period_number,
        count(*) filter (where list_contains(u.return_periods, p.period_number)) as users_on_period,
        count(*) filter (where u.last_return_period >= p.period_number) as users_on_or_after_period
    from user_periods u cross join periods p group by u.cohort_start, p.period_number
)
select c.cohort_start, c.cohort_users, p.period_number,
    case when complete then coalesce(n.users_on_period, 0) end as users_on_period,
    case when complete then coalesce(n.users_on_or_after_period, 0) end as users_on_or_after_period
from cohorts c cross join periods p
cross join lateral (
    select c.cohort_start + to_days(p.period_number + 1)
        <= (select max(event_at) from intermediate.int_events_sessionized) as complete
) as completeness
left join counts n on n.cohort_start = c.cohort_start and n.period_number = p.period_number
"""


def timed(con: duckdb.DuckDBPyConnection, sql: str, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        con.execute(sql)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=None, help="default: events / 10")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--breakdown", action="append", default=[], help="breakdown_property to time (repeatable)")
    args = parser.parse_args()
    users = args.users or max(args.events // 10, 100)
    variants: list[str | None] = [None, *args.breakdown]

    with tempfile.TemporaryDirectory(prefix="pmw-bench-retention-") as tmp:
        work = Path(tmp)
        con = duckdb.connect(str(work / "bench.duckdb"))
        con.execute(f"set threads = {args.threads}")
        started = time.perf_counter()
        build_events(con, args.events, users)
        print(
            f"events: {args.events:,} over {users:,} users, built in {time.perf_counter() - started:.1f}s; "
            f"threads={args.threads}"
        )
        models = {variant: model_sql(work, variant) for variant in variants}

        con.execute(REFERENCE)  # warm-up
        reference_s = timed(con, REFERENCE, args.repeat)
        expected = con.execute(
            "select cohort_start, period_number, cohort_users, users_on_period, users_on_or_after_period "
            "from reference_result order by 1, 2"
        ).fetchall()
        print(f"reference                 : {reference_s:7.3f} s")
        mismatched = []
        for variant, sql in models.items():
            statement = f"create or replace table model_result as {sql}"
            con.execute(statement)  # warm-up
            model_s = timed(con, statement, args.repeat)
            # Before breakdowns existed the model had no breakdown_value column: every row was the whole cohort.
            has_breakdown = "breakdown_value" in {
                c for (c,) in con.execute("select name from pragma_table_info('model_result')").fetchall()
            }
            where = "where breakdown_value = '(all)'" if has_breakdown else ""
            got = con.execute(
                "select cohort_start, period_number, cohort_users, users_on_period, users_on_or_after_period "
                f"from model_result {where} order by 1, 2"
            ).fetchall()
            rows = con.execute("select count(*) from model_result").fetchone()[0]
            label = f"model, breakdown {variant or 'none'}"
            print(
                f"{label:26s}: {model_s:7.3f} s   ratio model/reference {model_s / reference_s:.2f}   "
                f"rows {rows:,}   '(all)' equal to reference: {got == expected}"
            )
            if got != expected:
                mismatched.append(label)
        con.close()
    if mismatched:
        sys.exit(f"model and reference disagree: {', '.join(mismatched)}")


if __name__ == "__main__":
    main()
