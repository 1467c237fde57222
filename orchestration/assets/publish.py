"""Publish for BI: every mart, after every gate passed, swapped in atomically (publish/release.py)."""

from datetime import timedelta

import dagster as dg

from orchestration.assets.portfolio import PORTFOLIO_KEYS
from orchestration.dbt_cli import mart_models, prepared_manifest_path
from orchestration.resources import DUCKDB_POOL, PROGRESS, PmwSettings
from publish.release import publish

PUBLISHED_MARTS = dg.AssetKey(["published", "marts"])
# The dbt marts and the marts the portfolio asset writes into the same schema (publish copies them all).
MART_KEYS = [dg.AssetKey(["marts", name]) for name in mart_models(prepared_manifest_path())] + PORTFOLIO_KEYS


@dg.asset(
    key=PUBLISHED_MARTS,
    deps=MART_KEYS,
    group_name="publish",
    kinds={"duckdb", "parquet"},
    pool=DUCKDB_POOL,
    # The nightly run publishes soon after 03:00 UTC; not materialised in the 24 h before 04:00 means runs
    # stopped or gates kept failing (an unchanged publication still materialises the asset).
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
    result = publish(paths, run_id=context.run_id, log=PROGRESS.info)
    return dg.MaterializeResult(
        metadata={
            "status": result.status,
            "release_id": result.release_id,
            "path": dg.MetadataValue.path(str(result.published_path)),
            "report": dg.MetadataValue.path(str(result.published_path / "report.html")),
            "tables": dg.MetadataValue.json({t.name: t.rows for t in result.tables}),
        }
    )


defs = dg.Definitions(assets=[published_marts])
