"""What the last runs did, kept as small JSON files under data/runs/ so `pmw summary` works however a run started
(CLI, schedule, sensor or the Dagster UI)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import Paths


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def record_gate_result(paths: Paths, gate_name: str, run_id: str, result: dict[str, Any]) -> None:
    path = paths.runs_dir / "gates" / f"{gate_name}.json"
    payload = {"gate": gate_name, "run_id": run_id, "recorded_at": datetime.now(UTC).isoformat(), **result}
    if not result.get("rows_validated") and path.exists():
        # A run with nothing new to validate keeps the last real validation, so `pmw summary` can still say it.
        previous = json.loads(path.read_text(encoding="utf-8"))
        last = previous.get("last_validated") or (previous if previous.get("rows_validated") else None)
        if last:
            payload["last_validated"] = {k: last.get(k) for k in ("success", "rows_validated", "run_id", "recorded_at")}
    _write_json_atomic(path, payload)


def read_gate_results(paths: Paths) -> list[dict[str, Any]]:
    gate_dir = paths.runs_dir / "gates"
    if not gate_dir.exists():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(gate_dir.glob("*.json"))]


def record_run(paths: Paths, payload: dict[str, Any]) -> Path:
    path = paths.runs_dir / "last_run.json"
    _write_json_atomic(path, {"recorded_at": datetime.now(UTC).isoformat(), **payload})
    return path


def read_last_run(paths: Paths) -> dict[str, Any] | None:
    path = paths.runs_dir / "last_run.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def record_run_failure(paths: Paths, payload: dict[str, Any]) -> None:
    """Append-only log of failed runs (the run-failure sensor's alert trail)."""
    path = paths.runs_dir / "failures.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"recorded_at": datetime.now(UTC).isoformat(), **payload}, default=str) + "\n")
