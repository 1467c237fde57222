"""Ingest assets: landed exports -> pending lake Parquet (gated) -> lake Parquet that dbt reads."""

from pathlib import Path

import dagster as dg

from ingest.analytics import ingest_analytics
from ingest.common.lake import pending_files, promote_pending
from orchestration.resources import PROGRESS, PmwSettings

RAW_ANALYTICS_EVENTS = dg.AssetKey(["raw", "analytics_events"])
LAKE_ANALYTICS_EVENTS = dg.AssetKey(["lake", "analytics_events"])


class IngestConfig(dg.Config):
    """Restrict a run to some landed files (the landing sensor passes the one it saw); empty means all new."""

    files: list[str] = []  # noqa: RUF012 - pydantic copies field defaults per instance


@dg.asset(
    key=RAW_ANALYTICS_EVENTS,
    group_name="ingest",
    kinds={"python", "duckdb", "parquet"},
    description=(
        "New analytics exports (Amplitude ZIP, Mixpanel JSONL, CSV/Parquet events) parsed and normalised to the "
        "analytics/events contract, one Parquet per landed file in the lake's pending area; bad rows quarantined. "
        "Files already loaded (same bytes, any name) are skipped."
    ),
)
def raw_analytics_events(context: dg.AssetExecutionContext, config: IngestConfig, pmw: PmwSettings):
    paths = pmw.paths()
    files = [Path(f) for f in config.files] or None
    report = ingest_analytics(paths, pmw.config(), files=files, log=PROGRESS.info)
    totals = report.totals
    return dg.MaterializeResult(
        metadata={
            **{
                f"files_{k}" if k != "files" else "files_seen": v for k, v in totals.items() if not k.startswith("rows")
            },
            "rows_in": totals["rows_in"],
            "rows_loaded": totals["rows_loaded"],
            "rows_rejected": totals["rows_rejected"],
            "pending_files": len(pending_files(paths, "analytics", "events")),
            "failures": dg.MetadataValue.json(
                [{"file": r.relative_path or str(r.path), "error": r.error} for r in report.failed]
            ),
        }
    )


@dg.asset(
    key=LAKE_ANALYTICS_EVENTS,
    deps=[RAW_ANALYTICS_EVENTS],
    group_name="ingest",
    kinds={"parquet"},
    description=(
        "Analytics events visible to dbt: pending files promoted into lake/analytics/events only after the "
        "raw_analytics_events gate passed."
    ),
)
def lake_analytics_events(context: dg.AssetExecutionContext, pmw: PmwSettings):
    promoted = promote_pending(pmw.paths(), "analytics", "events")
    PROGRESS.info(f"lake: promoted {len(promoted)} analytics/events file(s)")
    return dg.MaterializeResult(metadata={"files_promoted": len(promoted)})


defs = dg.Definitions(assets=[raw_analytics_events, lake_analytics_events])
