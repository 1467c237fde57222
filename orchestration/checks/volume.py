"""Volume checks with memory as asset checks: rows per source and day on the staging models, rows per mart.

Three checks ops, each one step of the pipeline job: ``source_volume_checks`` (one check ``<table>_volume`` on
each watched staging model, after the dbt build), ``dbt_mart_volume_checks`` and ``portfolio_mart_volume_checks``
(one check ``<mart>_volume`` on every mart, once its builder ran). The logic and the history are
expectations/volume.py; the thresholds and severities are ``volume:`` in config/pmw.yml.

A count out of its band fails its check with the configured severity: ``block`` is an ERROR on a blocking check
that publish depends on (published/marts waits for the staging models and every mart), so nothing is published and
the previous release stays served; ``warn`` is a WARN, shown in the UI, the summary and an alert, and the release is
published. A cold start (too little history) is not a pass: its check fails with severity WARN, a description
that says COLD START and ``status: cold_start`` (NOT_JUDGED) in its metadata, so the UI shows it as a warning,
never green; nothing is held back, and `pmw run` / `pmw summary` count it as "not judged", apart from real
warnings. Out-of-band counts not already flagged by the previous run are alerted once (``volume_anomaly``), from
the check itself, so that runs started by the UI, the sensor or `pmw run` all tell.
"""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from expectations.volume import (
    NOT_JUDGED,
    SOURCE_TABLES,
    SubjectResult,
    check_marts,
    check_sources,
    read_results,
    record_results,
)
from orchestration.alerts import AlertError, Notifier, volume_alert
from orchestration.assets.portfolio import PORTFOLIO_KEYS
from orchestration.assets.publish import MART_KEYS, VOLUME_STAGING_KEYS
from orchestration.resources import DUCKDB_POOL, PROGRESS, PmwSettings

_SEVERITY = {"block": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def _flag_keys(results: list[dict[str, Any]]) -> set[tuple]:
    return {(r["check"], f.get("day"), f["observed"], f["direction"]) for r in results for f in r.get("flagged") or []}


def _previous_flags(pmw: PmwSettings, group: str) -> set[tuple]:
    for record in read_results(pmw.paths):
        if record.get("group") == group:
            return _flag_keys(record.get("results") or [])
    return set()


def _alert_new_anomalies(pmw: PmwSettings, run_id: str, results: list[SubjectResult], previous: set[tuple]) -> str:
    """Alert the anomalies the previous run had not already flagged; '' or the delivery error (also logged)."""
    anomalies = [r for r in results if r.anomalous]
    new = _flag_keys([{"check": r.check, "flagged": r.flagged} for r in anomalies]) - previous
    if not new:
        return ""
    alerted = [r for r in anomalies if any(key[0] == r.check for key in new)]
    alert = volume_alert(
        run_id,
        [
            {"subject": r.subject, "check": r.check, "severity": r.severity, "description": r.description}
            | {"flagged": r.flagged}
            for r in alerted
        ],
    )
    try:
        Notifier(pmw.config.alerts).send(alert)
    except AlertError as exc:
        # The verdicts stand and are recorded; the failed delivery is named in the log and the checks' metadata.
        PROGRESS.error(f"volume: {exc}")
        return str(exc)
    return ""


def _check_results(
    context: dg.AssetCheckExecutionContext,
    pmw: PmwSettings,
    group: str,
    results: list[SubjectResult],
    asset_keys: dict[str, dg.AssetKey],
) -> Iterator[dg.AssetCheckResult]:
    run_id = context.op_execution_context.run_id
    previous = _previous_flags(pmw, group)
    record_results(pmw.paths, group, run_id, datetime.now(UTC), results)
    alert_error = _alert_new_anomalies(pmw, run_id, results, previous)
    # One progress line per group; every anomaly in full (each line costs an event-log write).
    statuses = Counter(r.status for r in results)
    PROGRESS.info(f"volume: {group}: " + ", ".join(f"{status} {n}" for status, n in sorted(statuses.items())))
    # A run planned to build a part of the project (pmw/pipeline.py) selects only the checks of the assets it
    # builds; every subject is still counted and recorded (the history stays that of a whole run), and a blocking
    # anomaly on an unselected one fails the step by name instead of going unsaid.
    selected = context.selected_asset_check_keys
    unselected_blocking = []
    for result in results:
        if result.anomalous:
            PROGRESS.warning(f"volume [{result.severity}]: {result.description}")
        if dg.AssetCheckKey(asset_keys[result.check], result.check) not in selected:
            if result.anomalous and result.severity == "block":
                unselected_blocking.append(result)
            continue
        metadata: dict[str, Any] = {
            "status": result.status,
            "severity_configured": result.severity,
            "flagged": dg.MetadataValue.json(result.flagged),
            "details": dg.MetadataValue.json(result.details),
        }
        if alert_error and result.anomalous:
            metadata["alert_error"] = alert_error
        cold_start = result.status == NOT_JUDGED
        yield dg.AssetCheckResult(
            asset_key=asset_keys[result.check],
            check_name=result.check,
            passed=not (result.anomalous or cold_start),
            # A cold start never holds anything back, whatever the configured severity: it judged nothing.
            severity=dg.AssetCheckSeverity.WARN if cold_start else _SEVERITY[result.severity],
            description=result.description,
            metadata=metadata,
        )
    if unselected_blocking:
        raise VolumeAnomalyError(
            "volume anomalies (severity block) on subjects this run did not rebuild: "
            + "; ".join(r.description for r in unselected_blocking)
        )


class VolumeAnomalyError(RuntimeError):
    """A blocking volume anomaly on a subject whose check the run did not select (a planned partial night)."""


SOURCE_CHECK_KEYS = {table.check_name: key for table, key in zip(SOURCE_TABLES, VOLUME_STAGING_KEYS, strict=True)}


@dg.multi_asset_check(
    name="source_volume_checks",
    specs=[
        dg.AssetCheckSpec(
            name=table.check_name,
            asset=SOURCE_CHECK_KEYS[table.check_name],
            blocking=True,
            description=(
                f"{table.source} {table.rows} per day of {table.day_column} against the days before "
                f"(volume.sources.{table.name} in config/pmw.yml; severity block holds publication)."
            ),
        )
        for table in SOURCE_TABLES
    ],
    pool=DUCKDB_POOL,
    can_subset=True,
    description="Rows per source and day on the staging models, judged against a band learned from history.",
)
def source_volume_checks(context: dg.AssetCheckExecutionContext, pmw: PmwSettings):
    results = check_sources(pmw.paths, pmw.config, context.op_execution_context.run_id, datetime.now(UTC))
    yield from _check_results(context, pmw, "sources", results, SOURCE_CHECK_KEYS)


def _mart_volume_checks(name: str, group: str, keys: list[dg.AssetKey], built_by: str) -> dg.AssetChecksDefinition:
    check_keys = {f"{key.path[-1]}_volume": key for key in keys}

    @dg.multi_asset_check(
        name=name,
        specs=[
            dg.AssetCheckSpec(
                name=check,
                asset=key,
                blocking=True,
                description=(
                    f"Rows of {key.path[-1]} against the counts of the runs before "
                    "(volume.marts in config/pmw.yml; severity block holds publication)."
                ),
            )
            for check, key in check_keys.items()
        ],
        pool=DUCKDB_POOL,
        can_subset=True,
        description=f"Rows of every mart {built_by} builds, judged against the counts earlier runs observed.",
    )
    def _checks(context: dg.AssetCheckExecutionContext, pmw: PmwSettings):
        marts = [key.path[-1] for key in check_keys.values()]
        run_id = context.op_execution_context.run_id
        results = check_marts(pmw.paths, pmw.config, marts, run_id, datetime.now(UTC))
        yield from _check_results(context, pmw, group, results, check_keys)

    return _checks


# Two ops, not one: the portfolio scoring reads the dbt marts, so it waits for their blocking checks, and its own
# marts can only be counted after it ran.
MART_VOLUME_CHECKS = [
    _mart_volume_checks(
        "dbt_mart_volume_checks", "marts_dbt", [k for k in MART_KEYS if k not in PORTFOLIO_KEYS], "dbt"
    ),
    _mart_volume_checks("portfolio_mart_volume_checks", "marts_portfolio", PORTFOLIO_KEYS, "the portfolio scoring"),
]


VOLUME_CHECKS = [source_volume_checks, *MART_VOLUME_CHECKS]

defs = dg.Definitions(asset_checks=VOLUME_CHECKS)
