"""Publish for BI: every mart, after every gate passed, swapped in atomically (publish/release.py).

Also the run-level guard: nothing is published while a landed file failed to load and is neither superseded nor
discarded (ingest/common/lake.py ``unresolved_failed_files``). Marts built without that file's data are not the
truth, so the step fails naming each file and the command that moves on, the run fails (the failure alert fires),
and the previous release stays served, exactly as after a failed gate. Every publication goes through this asset,
so a UI materialisation of published/marts alone meets the same guard.
"""

from datetime import timedelta

import dagster as dg

from expectations.volume import SOURCE_TABLES
from ingest.common.lake import UnresolvedFile, unresolved_failed_files
from ingest.common.locking import retry_transient
from ingest.common.manifest import read_manifest
from orchestration.alerts import AlertError, Notifier, restatements_alert
from orchestration.assets.portfolio import PORTFOLIO_KEYS
from orchestration.build_state import record_build_published
from orchestration.dbt_cli import mart_models, prepared_manifest_path
from orchestration.resources import DUCKDB_POOL, PROGRESS, PmwSettings
from publish.release import PublishError, publish

PUBLISHED_MARTS = dg.AssetKey(["published", "marts"])
# The dbt marts and the marts the portfolio asset writes into the same schema (publish copies them all).
MART_KEYS = [dg.AssetKey(["marts", name]) for name in mart_models(prepared_manifest_path())] + PORTFOLIO_KEYS
# The staging models whose rows per day the blocking source volume checks judge (orchestration/checks/volume.py):
# publish waits for them as it waits for the mart gates.
VOLUME_STAGING_KEYS = [dg.AssetKey(["staging", table.model]) for table in SOURCE_TABLES]


class UnresolvedLandingError(PublishError):
    """Landed files failed to load and were neither superseded nor discarded; the message names each of them."""

    def __init__(self, files: list[UnresolvedFile]):
        self.files = files
        listed = "\n".join(f.describe() for f in files)
        super().__init__(
            f"not published: {len(files)} landed file(s) failed to load and are neither superseded nor discarded; "
            f"the previous release stays served\n{listed}"
        )


@dg.asset(
    key=PUBLISHED_MARTS,
    deps=MART_KEYS + VOLUME_STAGING_KEYS,
    group_name="publish",
    kinds={"duckdb", "parquet"},
    pool=DUCKDB_POOL,
    # The nightly run publishes soon after 03:00 UTC; not materialised in the 24 h before 04:00 means runs
    # stopped, gates kept failing, or nothing landed for a day (a night with nothing new skips the build and
    # publish, orchestration/build_state.py: BI's data is then a day old, and the per-source freshness checks
    # say which source did not deliver). Shown in the UI as overdue, never as fresh.
    freshness_policy=dg.FreshnessPolicy.cron(deadline_cron="0 4 * * *", lower_bound_delta=timedelta(hours=24)),
    description=(
        "published/marts.duckdb (read-only copy of every mart), published/parquet/<mart>.parquet and "
        "published/report.html (offline charts over the release's marts), built under a temp name and swapped in "
        "atomically; skipped, with the previous publication kept, if any upstream gate "
        "or dbt test failed. Unchanged marts publish nothing new."
    ),
)
def published_marts(context: dg.AssetExecutionContext, pmw: PmwSettings):
    paths = pmw.paths
    unresolved = unresolved_failed_files(paths)
    if unresolved:
        for file in unresolved:
            PROGRESS.error(f"publish: waiting for {file.describe()}")
        raise UnresolvedLandingError(unresolved)
    # Retried only on a transient error (the warehouse locked by another process for a moment); publish leaves
    # nothing behind when it fails, so a retry starts clean. A file that failed to load fails it, by name.
    config = pmw.config
    result = retry_transient(
        lambda: publish(
            paths,
            run_id=context.run_id,
            acknowledged=config.publish.acknowledged_interface_changes,
            config_path=config.path,
            restatements=config.restatements,
            read_landed=lambda: read_manifest(paths),
            log=PROGRESS.info,
        ),
        what="publish",
        log=PROGRESS.warning,
    )
    # The build this run recorded is now complete and served: a later run with the same inputs may skip it.
    record_build_published(paths, context.run_id, result.release_id)
    restated = result.restatements.get("changes") or []
    alert_error = None
    if restated:  # a warning for the people who read the numbers, never a block: the release is already served
        try:
            Notifier(config.alerts).send(restatements_alert(context.run_id, result.release_id, result.restatements))
        except AlertError as exc:
            alert_error = str(exc)
            PROGRESS.warning(f"publish: restatement alert not sent: {exc}")
    return dg.MaterializeResult(
        metadata={
            "status": result.status,
            "release_id": result.release_id,
            "path": dg.MetadataValue.path(str(result.published_path)),
            "report": dg.MetadataValue.path(str(result.published_path / "report.html")),
            "tables": dg.MetadataValue.json({t.name: t.rows for t in result.tables}),
            "interface_version": result.interface["version"],
            "interface_changes": dg.MetadataValue.json(result.interface["changes"]),
            "stale_acknowledgements": dg.MetadataValue.json(result.interface["stale_acknowledgements"]),
            "restatements": dg.MetadataValue.json(restated),
        }
        | ({"restatement_alert_error": alert_error} if alert_error else {})
    )


defs = dg.Definitions(assets=[published_marts])
