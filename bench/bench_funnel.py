"""The funnel model vs a reference ASOF-join query, measured in the same run (compare ratios, not absolutes).

    .venv/bin/python bench/bench_funnel.py --events 1000000 [--users 100000] [--repeat 3]

Builds N synthetic events in DuckDB (a 4-step journey, noise events, and power users with thousands of events
each, the case that sinks a self-join of step chains), compiles the real `fct_funnel_conversion` model with dbt
for the same funnel (1-day window, any_entry and first_entry; simultaneous_events strict, whose rule the reference
implements, and the configuration's default), and times:
  reference  hand-written ASOF-backward query (PERFORMANCE-NOTES): users per step, any_entry, strict semantics
  model      the compiled dbt model's SELECT (both entry modes, medians, breakdown rows), CREATE TABLE AS
Checks that the model's strict any_entry users per step equal the reference's. Target: model <= 1.5x reference.
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

from core.config import DEFAULT_SIMULTANEOUS_EVENTS, load_config

STEPS = ("signed_up", "onboarding_completed", "report_created", "plan_upgraded")
WINDOW_SECONDS = 86_400


def funnel_vars(entry_mode: str, simultaneous_events: str) -> dict:
    """The shipped configuration's dbt vars (dbt renders every model, and the others read theirs) with this funnel
    alone; no initiatives, whose targets name the shipped funnels."""
    return {
        **load_config().dbt_vars(),
        "initiatives": [],
        "kano_features": [],
        "funnels": [
            {
                "name": f"bench_{entry_mode}",
                "entry_mode": entry_mode,
                "simultaneous_events": simultaneous_events,
                "conversion_window_seconds": WINDOW_SECONDS,
                "period": "month",
                "breakdown_property": None,
                "steps": [{"event": e, "filters": []} for e in STEPS],
            }
        ],
    }


def build_events(con: duckdb.DuckDBPyConnection, events: int, users: int, seed: float = 0.42) -> None:
    """int_events_sessionized's columns the model reads; all in March 2024 so one month period holds everything."""
    con.execute(f"select setseed({seed})")
    con.execute("create schema if not exists intermediate")
    # 10 power users produce 20% of the events (20k each at 1M events): the case that sinks a self-join of chains.
    con.execute(
        f"""
        create or replace table intermediate.int_events_sessionized as
        with raw as (
            select
                range as n,
                case when random() < 0.2 then (random() * 10)::bigint
                     else 10 + (random() * {users})::bigint end as user_n,
                random() as r_event,
                random() as r_time
            from range({events})
        )
        select
            'e' || n as event_id,
            'u' || user_n as user_key,
            case
                when r_event < 0.10 then 'signed_up'
                when r_event < 0.20 then 'onboarding_completed'
                when r_event < 0.28 then 'report_created'
                when r_event < 0.31 then 'plan_upgraded'
                else 'page_viewed'
            end as event_name,
            timestamp '2024-03-01' + to_seconds((r_time * 27 * 86400)::bigint) as event_at,
            'amplitude' as source,
            'iOS' as platform,
            'US' as country,
            '{{}}' as properties
        from raw
        """
    )


def model_sql(work: Path, entry_mode: str, simultaneous_events: str) -> str:
    """The model's SELECT as dbt renders it for this funnel, pointed at the bench database's tables."""
    return compiled_model_sql(
        work,
        "fct_funnel_conversion",
        funnel_vars(entry_mode, simultaneous_events),
        f"target_{entry_mode}_{simultaneous_events}",
    )


REFERENCE_ANY_ENTRY = f"""
create or replace table reference_result as
with ev as (
    select user_key, event_name, epoch(event_at) as t from intermediate.int_events_sessionized
    where event_name in {STEPS!r}
),
s1 as (select user_key, t, t as start_t from ev where event_name = '{STEPS[0]}'),
-- Each step-k event takes the latest step-(k-1) state strictly before it; starts are non-decreasing in time along
-- a user's states, so the latest state carries the latest (best) start. Keep it if still inside the window.
s2 as (
    select e.user_key, e.t, p.start_t
    from (select * from ev where event_name = '{STEPS[1]}') e
    asof join s1 p on e.user_key = p.user_key and e.t > p.t
    where e.t - p.start_t <= {WINDOW_SECONDS}
),
s3 as (
    select e.user_key, e.t, p.start_t
    from (select * from ev where event_name = '{STEPS[2]}') e
    asof join s2 p on e.user_key = p.user_key and e.t > p.t
    where e.t - p.start_t <= {WINDOW_SECONDS}
),
s4 as (
    select e.user_key, e.t, p.start_t
    from (select * from ev where event_name = '{STEPS[3]}') e
    asof join s3 p on e.user_key = p.user_key and e.t > p.t
    where e.t - p.start_t <= {WINDOW_SECONDS}
)
select 1 as step_index, count(distinct user_key) as users from s1
union all select 2, count(distinct user_key) from s2
union all select 3, count(distinct user_key) from s3
union all select 4, count(distinct user_key) from s4
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
    args = parser.parse_args()
    users = args.users or max(args.events // 10, 100)

    with tempfile.TemporaryDirectory(prefix="pmw-bench-funnel-") as tmp:
        work = Path(tmp)
        con = duckdb.connect(str(work / "bench.duckdb"))
        con.execute(f"set threads = {args.threads}")
        started = time.perf_counter()
        build_events(con, args.events, users)
        top = con.execute(
            "select max(n) from (select count(*) n from intermediate.int_events_sessionized group by user_key)"
        ).fetchall()[0][0]
        print(
            f"events: {args.events:,} over {users:,} users (busiest user: {top:,} events), "
            f"built in {time.perf_counter() - started:.1f}s; threads={args.threads}"
        )
        variants = [(mode, "strict") for mode in ("any_entry", "first_entry")]
        if DEFAULT_SIMULTANEOUS_EVENTS != "strict":
            variants.append(("any_entry", DEFAULT_SIMULTANEOUS_EVENTS))
        models = {variant: model_sql(work, *variant) for variant in variants}

        con.execute(REFERENCE_ANY_ENTRY)  # warm-up
        reference_s = timed(con, REFERENCE_ANY_ENTRY, args.repeat)
        times, users = {}, {}
        for (mode, option), sql in models.items():
            statement = f"create or replace table model_{mode}_{option} as {sql}"
            con.execute(statement)  # warm-up
            times[mode, option] = timed(con, statement, args.repeat)
            users[mode, option] = con.execute(
                f"select step_index, users from model_{mode}_{option} where breakdown_value = '(all)' order by 1"
            ).fetchall()
        expected = con.execute("select step_index, users from reference_result order by 1").fetchall()
        con.close()

    print(f"reference ASOF any_entry (strict)   : {reference_s:7.3f} s   users per step {[u for _, u in expected]}")
    for (mode, option), seconds in times.items():
        label = f"model {mode} ({option})"
        print(f"{label:<36} : {seconds:7.3f} s   users per step {[u for _, u in users[mode, option]]}")
    for (mode, option), seconds in times.items():
        if mode == "any_entry":
            print(f"ratio model/reference (any_entry, {option}): {seconds / reference_s:.2f}  (target <= 1.5)")
    got = users["any_entry", "strict"]
    print(f"results equal (strict): {got == expected}")
    if got != expected:
        sys.exit("model and reference disagree")


if __name__ == "__main__":
    main()
