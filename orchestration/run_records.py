"""What the last runs did, kept as small JSON files under data/runs/ so `pmw summary` works however a run started
(CLI, schedule, sensor or the Dagster UI).

``last_run.json`` says ``running`` (with the pid) from the moment a run holds the data directory's run lock; the
run replaces it with its outcome when it ends. A record still ``running`` once its process is gone (or the lock is
free) belongs to a killed run: the next run or `pmw summary` turns it into ``killed`` and logs it as a failure.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import Paths
from expectations.volume import NOT_JUDGED
from ingest.common.atomic import atomic_write_text
from ingest.common.locking import retry_transient, run_lock_is_held

RUNNING = "running"
KILLED = "killed"


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    # atomic_write_text removes its temp file when the write fails (a full disk leaves no 0-byte .tmp behind).
    text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    retry_transient(lambda: atomic_write_text(path, text), what=f"writing {path}")


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


def read_gate_result(paths: Paths, gate_name: str) -> dict[str, Any] | None:
    path = paths.runs_dir / "gates" / f"{gate_name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def read_gate_results(paths: Paths) -> list[dict[str, Any]]:
    gate_dir = paths.runs_dir / "gates"
    if not gate_dir.exists():
        return []
    return [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(gate_dir.glob("*.json")) if not p.name.startswith(".")
    ]


def _last_run_path(paths: Paths) -> Path:
    return paths.runs_dir / "last_run.json"


def record_run_started(paths: Paths, *, started_at: datetime | None = None) -> Path:
    """The ``running`` record a run writes once it holds the run lock (pid and start, no outcome yet)."""
    path = _last_run_path(paths)
    started = (started_at or datetime.now(UTC)).isoformat()
    _write_json_atomic(
        path,
        {"status": RUNNING, "ok": False, "pid": os.getpid(), "started_at": started, "recorded_at": started},
    )
    return path


def record_run(paths: Paths, payload: dict[str, Any]) -> Path:
    path = _last_run_path(paths)
    status = payload.get("status") or ("ok" if payload.get("ok") else "failed")
    _write_json_atomic(path, {"recorded_at": datetime.now(UTC).isoformat(), "status": status, **payload})
    return path


def read_last_run(paths: Paths) -> dict[str, Any] | None:
    path = _last_run_path(paths)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def settle_killed_run(paths: Paths) -> dict[str, Any] | None:
    """Turn a ``running`` record whose run is gone into ``killed`` (and log it in failures.jsonl); return it.

    Gone means its pid no longer exists, or nobody holds the run lock (a live run always does, so a reused pid
    does not keep a dead run "running").
    """
    record = read_last_run(paths)
    if not record or record.get("status") != RUNNING:
        return None
    pid = record.get("pid")
    if isinstance(pid, int) and _pid_alive(pid) and run_lock_is_held(paths):
        return None
    killed = record | {
        "status": KILLED,
        "ok": False,
        "recorded_at": datetime.now(UTC).isoformat(),
        "error": f"the run (pid {pid}, started {record.get('started_at')}) was killed before it finished",
    }
    _write_json_atomic(_last_run_path(paths), killed)
    record_run_failure(paths, {"run_id": record.get("run_id"), "message": killed["error"], "status": KILLED})
    return killed


def record_run_failure(paths: Paths, payload: dict[str, Any]) -> None:
    """Append-only log of failed runs (the run-failure sensor's alert trail)."""
    path = paths.runs_dir / "failures.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"recorded_at": datetime.now(UTC).isoformat(), **payload}, default=str) + "\n"

    def append() -> None:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line)

    retry_transient(append, what=f"appending to {path}")


def record_landing_waiting(paths: Paths, source: str, waiting: list[str], settle_seconds: float) -> None:
    """Landed files of ``source`` skipped by the latest ingest because they were still settling (or being written)."""
    _write_json_atomic(
        paths.runs_dir / "waiting" / f"{source}.json",
        {
            "source": source,
            "settle_seconds": settle_seconds,
            "files": waiting,
            "recorded_at": datetime.now(UTC).isoformat(),
        },
    )


def read_landing_waiting(paths: Paths) -> list[dict[str, Any]]:
    folder = paths.runs_dir / "waiting"
    if not folder.is_dir():
        return []
    return [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json")) if not p.name.startswith(".")
    ]


# How a run's recorded checks read (each: passed, severity, judged): one place for `pmw run` and `pmw summary`.
def check_judged(evaluation: Any) -> bool:
    """False for an asset check evaluation that could not judge: a volume check's cold start, whose metadata status
    is NOT_JUDGED (read by `pmw run`'s outcome and the failure sensor alike)."""
    status = evaluation.metadata.get("status")
    return getattr(status, "value", status) != NOT_JUDGED


# The metadata status of a mart gate that did not validate again because its mart was not rebuilt (a partial
# build: orchestration/checks/gates.py); its pass is the one of the run that validated the same table.
KEPT = "kept"


def check_kept(evaluation: Any) -> bool:
    """True for a gate's pass kept from an earlier run on a mart this run left as built (not validated again)."""
    status = evaluation.metadata.get("status")
    return getattr(status, "value", status) == KEPT


def checks_failed(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in checks if not c["passed"] and c.get("severity") != "WARN"]


def checks_warned(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in checks if not c["passed"] and c.get("severity") == "WARN" and c.get("judged", True)]


def checks_not_judged(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in checks if not c["passed"] and c.get("severity") == "WARN" and not c.get("judged", True)]


def checks_headline(checks: list[dict[str, Any]]) -> str:
    """'N passed[ (K kept: marts not rebuilt)], N failed[, N warned][, N not judged (cold start)]', the same words
    in `pmw run` and `pmw summary`."""
    failed, warned, not_judged = checks_failed(checks), checks_warned(checks), checks_not_judged(checks)
    passed = len(checks) - len(failed) - len(warned) - len(not_judged)
    kept = sum(1 for c in checks if c["passed"] and c.get("kept"))
    return (
        f"{passed} passed"
        + (f" ({kept} kept from the run that validated the same, not rebuilt, mart)" if kept else "")
        + f", {len(failed)} failed"
        + (f", {len(warned)} warned" if warned else "")
        + (f", {len(not_judged)} not judged (cold start)" if not_judged else "")
    )


def materialised_headline(materialized: list[str], left_as_built: list[str]) -> str:
    """'N assets materialised[ (M of them dbt models left as built, not rebuilt)]'."""
    left = f" ({len(left_as_built)} of them dbt models left as built, not rebuilt)" if left_as_built else ""
    return f"{len(materialized)} assets materialised{left}"
