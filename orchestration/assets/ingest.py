"""Ingest assets, one pair per source: landed exports -> pending lake Parquet (gated) -> lake Parquet dbt reads.

raw/<source>                 parse new landed files into lake/_pending/<source>/<entity>/ (+ quarantine, manifest)
  └─ blocking raw gate       (orchestration/checks/gates.py) validates every pending file
lake/<source>_<entity> ...   promote the pending files; these keys are the dbt sources' asset keys
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from ingest.analytics import contract as analytics_contract
from ingest.analytics import ingest_analytics
from ingest.billing import contract as billing_contract
from ingest.billing import ingest_billing
from ingest.common.lake import pending_files, promote_pending
from ingest.feedback import contract as feedback_contract
from ingest.feedback import ingest_feedback
from ingest.jira import contract as jira_contract
from ingest.jira import ingest_jira
from ingest.marketing import contract as marketing_contract
from ingest.marketing import ingest_marketing
from orchestration.resources import PROGRESS, PmwSettings


class IngestConfig(dg.Config):
    """Restrict a run to some landed files (the landing sensor passes the one it saw); empty means all new."""

    files: list[str] = []  # noqa: RUF012 - pydantic copies field defaults per instance


@dataclass(frozen=True)
class SourceSpec:
    source: str
    entities: tuple[str, ...]
    ingest: Callable
    description: str

    @property
    def raw_key(self) -> dg.AssetKey:
        return dg.AssetKey(["raw", self.source])

    def lake_key(self, entity: str) -> dg.AssetKey:
        return dg.AssetKey(["lake", f"{self.source}_{entity}"])


SOURCE_SPECS: dict[str, SourceSpec] = {
    "analytics": SourceSpec(
        source="analytics",
        entities=(analytics_contract.ENTITY,),
        ingest=ingest_analytics,
        description="Analytics exports (Amplitude Export API ZIP, Mixpanel raw JSONL, Segment-style CSV/Parquet)",
    ),
    "jira": SourceSpec(
        source="jira",
        entities=tuple(jira_contract.ENTITIES),
        ingest=ingest_jira,
        description="Jira exports (REST search JSON with changelog, agile sprint pages, field catalog, UI CSV)",
    ),
    "feedback": SourceSpec(
        source="feedback",
        entities=tuple(feedback_contract.ENTITIES),
        ingest=ingest_feedback,
        description=(
            "Customer feedback (Delighted NPS, Typeform, SurveyMonkey, CSAT CSV, Productboard notes, Zendesk "
            "tickets and ratings, Kano questionnaires)"
        ),
    ),
    "billing": SourceSpec(
        source="billing",
        entities=tuple(billing_contract.ENTITIES),
        ingest=ingest_billing,
        description="Billing (Stripe dashboard CSV exports and API JSON lists: customers, subscriptions, invoices)",
    ),
    "marketing": SourceSpec(
        source="marketing",
        entities=tuple(marketing_contract.ENTITIES),
        ingest=ingest_marketing,
        description="Ad spend (Google Ads UI CSV and API, Meta Ads Manager CSV, plain channel/date/spend CSV)",
    ),
}


def _log_file_result(line: str) -> None:
    # Re-runs see every landed file again; only what changed is worth a line.
    if " already_loaded " not in line:
        PROGRESS.info(line)


def _raw_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=spec.raw_key,
        group_name="ingest",
        kinds={"python", "duckdb", "parquet"},
        description=(
            f"{spec.description}: new landed files parsed and normalised to the {spec.source} lake contracts, "
            "one Parquet per landed file and entity in the lake's pending area; bad rows quarantined with their "
            "reason. Files already loaded (same bytes, any name) are skipped."
        ),
    )
    def _raw(config: IngestConfig, pmw: PmwSettings):
        paths = pmw.paths
        files = [Path(f) for f in config.files] or None
        report = spec.ingest(paths, pmw.config, files=files, log=_log_file_result)
        totals = report.totals
        PROGRESS.info(
            f"{spec.source}: {totals.get('loaded', 0)} file(s) loaded, {totals.get('failed', 0)} failed, "
            f"{totals.get('already_loaded', 0)} already loaded; rows in {totals.get('rows_in', 0)}, "
            f"loaded {totals.get('rows_loaded', 0)}, rejected {totals.get('rows_rejected', 0)}, "
            f"skipped as totals {totals.get('rows_skipped', 0)}"
        )
        return dg.MaterializeResult(
            metadata={
                **{f"files_{k}": v for k, v in totals.items() if not k.startswith("rows")},
                "rows_in": totals.get("rows_in", 0),
                "rows_loaded": totals.get("rows_loaded", 0),
                "rows_rejected": totals.get("rows_rejected", 0),
                "rows_skipped": totals.get("rows_skipped", 0),
                "pending_files": sum(len(pending_files(paths, spec.source, e)) for e in spec.entities),
                "failures": dg.MetadataValue.json(
                    [{"file": r.relative_path or str(r.path), "error": r.error} for r in report.failed]
                ),
            }
        )

    return _raw


def _lake_assets(spec: SourceSpec) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"lake_{spec.source}",
        group_name="ingest",
        specs=[
            dg.AssetSpec(
                spec.lake_key(entity),
                deps=[spec.raw_key],
                kinds={"parquet"},
                description=(
                    f"lake/{spec.source}/{entity}/*.parquet as dbt reads it: pending files promoted only after "
                    f"the raw {spec.source} gate passed."
                ),
            )
            for entity in spec.entities
        ],
    )
    def _lake(pmw: PmwSettings):
        paths = pmw.paths
        for entity in spec.entities:
            promoted = promote_pending(paths, spec.source, entity)
            if promoted:
                PROGRESS.info(f"lake: promoted {len(promoted)} {spec.source}/{entity} file(s)")
            yield dg.MaterializeResult(asset_key=spec.lake_key(entity), metadata={"files_promoted": len(promoted)})

    return _lake


RAW_ASSETS = {name: _raw_asset(spec) for name, spec in SOURCE_SPECS.items()}
LAKE_ASSETS = {name: _lake_assets(spec) for name, spec in SOURCE_SPECS.items()}

defs = dg.Definitions(assets=[*RAW_ASSETS.values(), *LAKE_ASSETS.values()])
