"""Per-source freshness: has each source delivered new data as often as the configuration says it must?

A source's last delivery is the newest ``finished_at`` among its loaded files in the ingest manifest: a re-run over
the same files, or the same bytes landed again, delivers nothing new, so a source that silently stopped exporting
goes stale even though every nightly run still materialises its assets (which is why Dagster's
last-materialisation freshness checks would not see it).

Each source has a Dagster asset check ``<source>_freshness`` on ``raw/<source>`` (warning severity, not part of the
pipeline job, so a stale source never blocks a run). The ``source_freshness`` sensor evaluates them every few
minutes, records the results against the checks (runless check evaluations, shown in the UI) and sends one alert
per source each time it goes stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from core.config import PipelineConfig
from core.settings import SOURCES, Paths
from ingest.common.manifest import read_manifest
from orchestration.alerts import Alert
from orchestration.assets.ingest import SOURCE_SPECS
from orchestration.resources import PmwSettings


@dataclass(frozen=True)
class SourceFreshness:
    source: str
    max_age_hours: float | None  # None: no expectation configured
    last_delivery: datetime | None  # None: nothing ever loaded
    checked_at: datetime

    @property
    def age_hours(self) -> float | None:
        if self.last_delivery is None:
            return None
        return (self.checked_at - self.last_delivery).total_seconds() / 3600

    @property
    def stale(self) -> bool:
        if self.max_age_hours is None:
            return False
        return self.age_hours is None or self.age_hours > self.max_age_hours

    def description(self) -> str:
        if self.max_age_hours is None:
            return f"{self.source}: no freshness expectation configured"
        if self.last_delivery is None:
            return f"{self.source}: nothing loaded yet (expected a new file every {self.max_age_hours:g} h)"
        verdict = "STALE" if self.stale else "fresh"
        return (
            f"{self.source}: {verdict}, last new file loaded {self.age_hours:.1f} h ago "
            f"({self.last_delivery.isoformat(timespec='seconds')}); expected every {self.max_age_hours:g} h"
        )


def last_delivery(paths: Paths, source: str) -> datetime | None:
    finished = [
        datetime.fromisoformat(r["finished_at"])
        for r in read_manifest(paths, source)
        if r.get("status") == "loaded" and r.get("finished_at")
    ]
    return max(finished, default=None)


def source_freshness(paths: Paths, config: PipelineConfig, source: str, now: datetime) -> SourceFreshness:
    expectation = config.freshness.get(source)
    return SourceFreshness(
        source=source,
        max_age_hours=expectation.max_age_hours if expectation else None,
        last_delivery=last_delivery(paths, source),
        checked_at=now,
    )


def stale_alert(state: SourceFreshness) -> Alert:
    return Alert(
        kind="source_stale",
        title=f"pmw: source {state.source} is stale",
        text=state.description() + f"\nCheck the export or sync job that drops files into landing/{state.source}/.",
        details={
            "source": state.source,
            "max_age_hours": state.max_age_hours,
            "last_delivery": state.last_delivery.isoformat() if state.last_delivery else None,
            "age_hours": round(state.age_hours, 2) if state.age_hours is not None else None,
        },
    )


def check_name(source: str) -> str:
    return f"{source}_freshness"


def _metadata(state: SourceFreshness) -> dict:
    return {
        "max_age_hours": state.max_age_hours,
        "age_hours": round(state.age_hours, 2) if state.age_hours is not None else None,
        "last_delivery": state.last_delivery.isoformat() if state.last_delivery else None,
    }


def check_evaluation(state: SourceFreshness) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=SOURCE_SPECS[state.source].raw_key,
        check_name=check_name(state.source),
        passed=not state.stale,
        severity=dg.AssetCheckSeverity.WARN,
        description=state.description(),
        metadata=_metadata(state),
    )


def _freshness_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=SOURCE_SPECS[source].raw_key,
        name=check_name(source),
        blocking=False,
        description=(
            f"Did {source} deliver a new file within its `freshness.{source}.max_age_hours` (config/pmw.yml)? "
            "Evaluated by the source_freshness sensor; not part of the pipeline job."
        ),
    )
    def _check(pmw: PmwSettings) -> dg.AssetCheckResult:
        state = source_freshness(pmw.paths, pmw.config, source, datetime.now(UTC))
        return dg.AssetCheckResult(
            passed=not state.stale,
            severity=dg.AssetCheckSeverity.WARN,
            description=state.description(),
            metadata=_metadata(state),
        )

    return _check


FRESHNESS_CHECKS = [_freshness_check(source) for source in SOURCES if source in SOURCE_SPECS]
FRESHNESS_CHECK_KEYS = [key for check in FRESHNESS_CHECKS for key in check.check_keys]

defs = dg.Definitions(asset_checks=FRESHNESS_CHECKS)
