"""Great Expectations gates as blocking asset checks: an error-level failure stops everything downstream."""

from datetime import UTC, datetime

import dagster as dg

from expectations import GATES
from expectations.runner import GateResult, validate_parquet_files, validate_warehouse_table
from ingest.common.lake import pending_files
from orchestration.assets.ingest import SOURCE_SPECS
from orchestration.resources import DUCKDB_POOL, PROGRESS, PmwSettings
from orchestration.run_records import record_gate_result


def _check_result(context: dg.AssetCheckExecutionContext, pmw: PmwSettings, gate_name: str, result: GateResult):
    record_gate_result(pmw.paths, gate_name, context.op_execution_context.run_id, result.to_dict())
    PROGRESS.info(f"gate: {result.summary()}")
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.summary(),
        metadata={
            "rows_validated": result.rows_validated,
            "failed_expectations": dg.MetadataValue.json(
                [e for e in result.to_dict()["expectations"] if not e["success"]]
            ),
            "seconds": round(result.elapsed_seconds, 3),
        },
    )


# Raw gates: (source, entity whose pending files are validated, gate module name in expectations.GATES).
RAW_GATES = (
    ("analytics", "events", "raw_analytics_events"),
    ("jira", "issues", "raw_jira_issues"),
    ("feedback", "survey_responses", "raw_feedback_survey_responses"),
    ("billing", "invoices", "raw_billing_invoices"),
    ("marketing", "spend", "raw_marketing_spend"),
)


def _raw_gate(source: str, entity: str, gate_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=SOURCE_SPECS[source].raw_key,
        name=f"{gate_name}_gate",
        blocking=True,
        description=f"GX suite expectations/{gate_name}.py on every pending (not yet promoted) {source}/{entity} file.",
    )
    def _gate(context: dg.AssetCheckExecutionContext, pmw: PmwSettings):
        paths = pmw.paths
        files = pending_files(paths, source, entity)
        run_id = context.op_execution_context.run_id
        if not files:
            # Recorded too, so `pmw summary` does not show an older run's verdict as the latest.
            record_gate_result(
                paths, gate_name, run_id, {"success": True, "rows_validated": 0, "note": "no pending files"}
            )
            return dg.AssetCheckResult(passed=True, description=f"no pending {source}/{entity} files to validate")
        result = validate_parquet_files(files, GATES[gate_name], config=pmw.config, now=datetime.now(UTC))
        return _check_result(context, pmw, gate_name, result)

    return _gate


# A source gets its gate once its ingest assets exist (SOURCE_SPECS), so a gate can land before its ingest.
RAW_GATE_CHECKS = [_raw_gate(*g) for g in RAW_GATES if g[2] in GATES and g[0] in SOURCE_SPECS]


def _mart_gate(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["marts", table]),
        name=f"{table}_gate",
        blocking=True,
        pool=DUCKDB_POOL,
        description=f"GX suite expectations/{table}.py on the whole mart, read from DuckDB in bounded slices.",
    )
    def _gate(context: dg.AssetCheckExecutionContext, pmw: PmwSettings):
        result = validate_warehouse_table(
            pmw.paths.warehouse_path,
            f"marts.{table}",
            GATES[table],
            config=pmw.config,
            now=datetime.now(UTC),
        )
        return _check_result(context, pmw, table, result)

    return _gate


MART_GATES = [_mart_gate(name) for name in GATES if name.startswith(("fct_", "dim_"))]

defs = dg.Definitions(asset_checks=[*RAW_GATE_CHECKS, *MART_GATES])
