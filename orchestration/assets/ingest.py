"""Ingest assets, one pair per source: landed exports -> pending lake Parquet (gated) -> lake Parquet dbt reads.

raw/<source>                 parse new, complete landed files into lake/_pending/<source>/<entity>/ (+ quarantine,
                             manifest); files still being written or settling wait for a later run
  └─ blocking raw gate       (orchestration/checks/gates.py) validates the pending files it lists, records their sha256s
lake/<source>_<entity> ...   promote exactly the files the gate validated; these keys are the dbt sources' asset keys

A landed file that cannot be read at all is recorded as failed and the other files go on; publication then waits
until it is superseded or discarded (publish/release.py), so the run fails and the failure alert fires.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from core.settings import Settings
from ingest.analytics import contract as analytics_contract
from ingest.analytics import ingest_analytics
from ingest.billing import contract as billing_contract
from ingest.billing import ingest_billing
from ingest.common.hashing import file_sha256
from ingest.common.lake import PromotionError, pending_files, promote_files
from ingest.common.landing import is_in_progress_name, is_settled, list_settled_files, relative_to_landing
from ingest.common.manifest import read_manifest
from ingest.common.report import LOADED
from ingest.feedback import contract as feedback_contract
from ingest.feedback import ingest_feedback
from ingest.jira import contract as jira_contract
from ingest.jira import ingest_jira
from ingest.marketing import contract as marketing_contract
from ingest.marketing import ingest_marketing
from orchestration.resources import PROGRESS, PmwSettings
from orchestration.run_records import read_gate_result, record_landing_waiting


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


def _complete_files(pmw: Settings, source: str, requested: list[str]) -> tuple[list[Path], list[Path]]:
    """(files to read now, files still being written or settling): the requested files, else all landed ones.

    A requested file (the sensor's, or `pmw run --file`) gets the same test as a listed one: an in-progress name
    or a recent mtime means it waits.
    """
    settle = pmw.landing_settle_seconds
    if not requested:
        listing = list_settled_files(pmw.paths, source, settle)
        return listing.settled, _changed_since_loaded(pmw.paths, source, listing.waiting)
    ready: list[Path] = []
    waiting: list[Path] = []
    for path in map(Path, requested):
        in_progress = is_in_progress_name(path.name) or (path.is_file() and not is_settled(path, settle))
        (waiting if in_progress else ready).append(path)  # a missing file is the loader's to report, by name
    return ready, _changed_since_loaded(pmw.paths, source, waiting)


def _changed_since_loaded(paths, source: str, recent: list[Path]) -> list[Path]:
    """The recent files that are not simply a loaded file touched again: same landing path, size and bytes as a
    loaded manifest record (those are not waiting for anything). Only a path and size match is hashed."""
    loaded = {}
    for record in read_manifest(paths, source):
        if record.get("status") == LOADED:
            for name in (record["path"], *(record.get("aliases") or [])):
                loaded[name] = record
    waiting = []
    for path in recent:
        record = loaded.get(_landing_name(paths, path))
        try:
            unchanged = (
                record is not None
                and path.stat().st_size == record.get("bytes")
                and file_sha256(path) == record["sha256"]
            )
        except FileNotFoundError:  # moved away since it was listed
            continue
        if not unchanged:
            waiting.append(path)
    return waiting


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
        files, waiting = _complete_files(pmw, spec.source, config.files)
        waiting_names = [_landing_name(paths, f) for f in waiting]
        record_landing_waiting(paths, spec.source, waiting_names, pmw.landing_settle_seconds)
        for name in waiting_names:
            PROGRESS.info(
                f"{spec.source}: waiting {name}: still being written, or modified less than "
                f"{pmw.landing_settle_seconds:.0f}s ago; a later run takes it"
            )
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
                # What this run left pending per entity (its own files and earlier ones still waiting for the gate).
                "pending_sha256": dg.MetadataValue.json(
                    {e: [f.stem for f in pending_files(paths, spec.source, e)] for e in spec.entities}
                ),
                "waiting_files": dg.MetadataValue.json(waiting_names),
                "failures": dg.MetadataValue.json(
                    [
                        {"file": r.relative_path or str(r.path), "sha256": r.sha256, "error": r.error}
                        for r in report.failed
                    ]
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
    def _lake(context: dg.AssetExecutionContext, pmw: PmwSettings):
        paths = pmw.paths
        for entity in spec.entities:
            promoted = promote_files(paths, spec.source, entity, _gated_sha256s(pmw, spec, entity, context.run_id))
            if promoted:
                PROGRESS.info(f"lake: promoted {len(promoted)} {spec.source}/{entity} file(s)")
            yield dg.MaterializeResult(asset_key=spec.lake_key(entity), metadata={"files_promoted": len(promoted)})

    return _lake


def _landing_name(paths, path: Path) -> str:
    try:
        return relative_to_landing(paths, path)
    except ValueError:  # a requested path outside landing/: the loader refuses it by name
        return str(path)


def _gated_sha256s(pmw: Settings, spec: SourceSpec, entity: str, run_id: str) -> list[str]:
    """The sha256s this run's raw gate validated for (source, entity): exactly what may be promoted."""
    gate_name = f"raw_{spec.source}_{entity}"
    record = read_gate_result(pmw.paths, gate_name)
    if record is None or record.get("run_id") != run_id or not record.get("success"):
        raise PromotionError(
            f"no passing {gate_name} result of run {run_id} (found: {record and record.get('run_id')}); "
            f"nothing of {spec.source}/{entity} is promoted"
        )
    return list(record.get("validated_sha256") or [])


RAW_ASSETS = {name: _raw_asset(spec) for name, spec in SOURCE_SPECS.items()}
LAKE_ASSETS = {name: _lake_assets(spec) for name, spec in SOURCE_SPECS.items()}

defs = dg.Definitions(assets=[*RAW_ASSETS.values(), *LAKE_ASSETS.values()])
