"""Great Expectations gates as blocking asset checks: an error-level failure stops everything downstream.

The checks are defined from the gates' names (``expectations.GATE_NAMES``); the gates and the runner, which import
Great Expectations, are loaded by the first check that validates something, not when the definitions load.
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dagster as dg

from core.settings import Paths
from expectations import GATE_NAMES
from ingest.common.lake import discard_command, pending_files
from ingest.common.locking import retry_transient
from orchestration.assets.ingest import SOURCE_SPECS
from orchestration.resources import DUCKDB_POOL, PROGRESS, PmwSettings
from orchestration.run_records import KEPT, read_gate_result, record_gate_result

if TYPE_CHECKING:
    from expectations.runner import GateResult


def _check_result(
    context: dg.AssetCheckExecutionContext,
    pmw: PmwSettings,
    gate_name: str,
    result: "GateResult",
    *,
    record: dict[str, Any] | None = None,
    description: str | None = None,
):
    record = record if record is not None else result.to_dict()
    description = description if description is not None else result.summary()
    record_gate_result(pmw.paths, gate_name, context.op_execution_context.run_id, record)
    PROGRESS.info(f"gate: {description}")
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "rows_validated": result.rows_validated,
            "failed_expectations": dg.MetadataValue.json([e for e in record["expectations"] if not e["success"]]),
            "failing_files": dg.MetadataValue.json(record["failing_files"]),
            "seconds": round(result.elapsed_seconds, 3),
        },
    )


# Raw gates: one per lake entity of each source, named raw_<source>_<entity> in expectations.GATES. They are all
# blocking checks on raw/<source>, and the source's lake assets depend on it: a source's pending files are promoted
# only when every one of its entity gates passed.
RAW_GATES = tuple(
    (source, entity, f"raw_{source}_{entity}") for source, spec in SOURCE_SPECS.items() for entity in spec.entities
)


def _raw_failure_report(paths: Paths, source: str, result: "GateResult") -> tuple[dict[str, Any], str]:
    """The gate record with each failing file's discard command, and a description naming the files."""
    record = result.to_dict()
    for failing in record["failing_files"]:
        if failing["file_sha256"]:
            failing["discard_command"] = discard_command(paths, source, failing["file_sha256"])
    lines = [result.summary()]
    for failing in record["failing_files"]:
        rules = ", ".join(f"{r['rule']} x{r['unexpected_count']}" for r in failing["rules"])
        lines.append(f"failing file {failing['file_sha256']} ({failing['source_file']}): {rules}")
        lines += [f"  e.g. {example['row']}" for example in failing["examples"]]
        if failing.get("discard_command"):
            lines.append(f"  to move on once understood: {failing['discard_command']}")
    return record, "\n".join(lines)


def _raw_gate(source: str, entity: str, gate_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=SOURCE_SPECS[source].raw_key,
        name=f"{gate_name}_gate",
        blocking=True,
        description=f"GX suite expectations/{gate_name}.py on every pending (not yet promoted) {source}/{entity} file.",
    )
    def _gate(context: dg.AssetCheckExecutionContext, pmw: PmwSettings):
        paths = pmw.paths
        # The files listed now are the ones validated and, if they pass, the only ones promoted (by sha256): a
        # file that turns up in the pending area later waits for the next gate.
        files = pending_files(paths, source, entity)
        validated = {"validated_sha256": [f.stem for f in files]}
        run_id = context.op_execution_context.run_id
        if not files:
            # Recorded too, so `pmw summary` does not show an older run's verdict as the latest.
            record_gate_result(
                paths,
                gate_name,
                run_id,
                {"success": True, "rows_validated": 0, "note": "no pending files", **validated},
            )
            return dg.AssetCheckResult(passed=True, description=f"no pending {source}/{entity} files to validate")
        from expectations import GATES, validate_parquet_files

        result = validate_parquet_files(files, GATES[gate_name], config=pmw.config, now=datetime.now(UTC))
        if result.success:
            return _check_result(context, pmw, gate_name, result, record=result.to_dict() | validated)
        record, description = _raw_failure_report(paths, source, result)
        return _check_result(context, pmw, gate_name, result, record=record | validated, description=description)

    return _gate


_UNGATED = [name for _source, _entity, name in RAW_GATES if name not in GATE_NAMES]
if _UNGATED:
    # An ungated entity would be promoted into the lake unchecked: refuse to build the definitions instead.
    raise RuntimeError(f"lake entities without a raw gate module in expectations/: {', '.join(_UNGATED)}")
RAW_GATE_CHECKS = [_raw_gate(*g) for g in RAW_GATES]


def _mart_gate(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["marts", table]),
        name=f"{table}_gate",
        blocking=True,
        pool=DUCKDB_POOL,
        description=f"GX suite expectations/{table}.py on the whole mart, read from DuckDB in bounded slices.",
    )
    def _gate(context: dg.AssetCheckExecutionContext, pmw: PmwSettings):
        standing = _standing_verdict(context, pmw.paths, table)
        if standing is not None:
            PROGRESS.info(f"gate: {standing}")
            return dg.AssetCheckResult(
                passed=True, severity=dg.AssetCheckSeverity.ERROR, description=standing, metadata={"status": KEPT}
            )
        from expectations import GATES, validate_warehouse_table

        # A read-only validation: retried as a whole when the warehouse is locked elsewhere for a moment.
        result = retry_transient(
            lambda: validate_warehouse_table(
                pmw.paths.warehouse_path, f"marts.{table}", GATES[table], config=pmw.config, now=datetime.now(UTC)
            ),
            what=f"{table} gate",
            log=PROGRESS.warning,
        )
        return _check_result(context, pmw, table, result)

    return _gate


def _standing_verdict(context: dg.AssetCheckExecutionContext, paths: Paths, table: str) -> str | None:
    """Why the gate need not validate again, or None: this run's dbt step left the mart as the last build made it
    (a build of only the changed sources, orchestration/assets/dbt.py) and the gate passed on that table."""
    run_id = context.op_execution_context.run_id
    event = context.instance.get_latest_materialization_event(dg.AssetKey(["marts", table]))
    if event is None or event.run_id != run_id or event.asset_materialization is None:
        return None
    rebuilt = event.asset_materialization.metadata.get("rebuilt")
    if rebuilt is None or rebuilt.value is not False:
        return None
    last = read_gate_result(paths, table)
    if not last or not last.get("success"):
        return None
    built_by = event.asset_materialization.metadata["left_as_built_by_run"].value
    return (
        f"{table} not rebuilt (its inputs unchanged since run {str(built_by)[:8]}): the gate's pass of run "
        f"{str(last.get('run_id'))[:8]} on the same table stands"
    )


MART_GATES = [_mart_gate(name) for name in GATE_NAMES if name.startswith(("fct_", "dim_"))]

defs = dg.Definitions(asset_checks=[*RAW_GATE_CHECKS, *MART_GATES])
