"""Run the pipeline once, in this process, through the same Dagster job the schedule and sensor run.

Using the job (not a parallel hand-written sequence) means the CLI gets exactly the orchestrated semantics:
blocking gates, dbt tests as checks, publish only after everything upstream passed.

A run refuses a data directory that does not exist or where nothing was ever landed (DataDirectoryError), holds
the data directory's run lock from start to end (RunLockBusyError when another run keeps it past the wait), and
records itself: ``running`` (pid, start) once it holds the lock, then its outcome, or ``failed`` with the error
when it ends in an exception; a run killed outright is turned into ``killed`` by the next run or `pmw summary`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import load_config
from core.duckdb_connection import configure_duckdb
from core.settings import Paths, Settings
from ingest.common.landing import require_landed_data
from ingest.common.locking import run_lock
from orchestration.build_state import (
    BUILD_SCOPE_TAG,
    BuildScope,
    UnchangedBuild,
    build_inputs,
    nothing_to_ingest,
    planned_build_scope,
    record_build_failed,
    skip_of_run,
    unchanged_build,
)
from orchestration.dbt_cli import prepare_dbt_manifest
from orchestration.instance import fail_runs_of_dead_workers, open_instance
from orchestration.run_records import (
    check_judged,
    check_kept,
    checks_failed,
    checks_headline,
    checks_not_judged,
    checks_warned,
    materialised_headline,
    read_gate_result,
    record_run,
    record_run_failure,
    record_run_started,
    settle_killed_run,
)
from pmw.progress import Heartbeat


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    seconds: float
    steps_failed: list[str] = field(default_factory=list)
    steps_skipped: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    materialized: list[str] = field(default_factory=list)
    # Of those, the dbt models a partial build left as the last build made them (metadata rebuilt: false).
    left_as_built: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)  # wall time per executed step, in run order
    step_errors: dict[str, str] = field(default_factory=dict)  # failed step -> its error, one named line or more
    # Epoch seconds: when the job was handed to Dagster and when its first step started (Dagster's step stats); the
    # gap is Dagster's run bookkeeping before any work (bench/bench_nightly.py reports it).
    job_launched_at: float | None = None
    first_step_started_at: float | None = None
    # Set when nothing the build reads changed since the last successful build, so the dbt build, the mart gates
    # and publish were skipped (orchestration/build_state.py): that build's run, its release and the statement.
    unchanged: dict[str, str] | None = None

    @property
    def checks_failed(self) -> list[dict[str, Any]]:
        """Failed checks of severity ERROR: they block what depends on them, and the run is not OK."""
        return checks_failed(self.checks)

    @property
    def checks_warned(self) -> list[dict[str, Any]]:
        """Failed checks of severity WARN (a dbt test with severity warn, a volume check set to warn): shown and
        alerted, nothing held back; the run stays OK, its headline says how many warnings."""
        return checks_warned(self.checks)

    @property
    def checks_not_judged(self) -> list[dict[str, Any]]:
        """Checks that could not judge (a volume check's cold start): neither passed nor warned, counted apart."""
        return checks_not_judged(self.checks)

    @property
    def ok(self) -> bool:
        # Steps skipped because nothing changed are not a failure; any other skip means an upstream step failed.
        skipped_for_failure = self.steps_skipped and self.unchanged is None
        return self.success and not self.steps_failed and not self.checks_failed and not skipped_for_failure

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "success": self.success,
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
            "steps_failed": self.steps_failed,
            "steps_skipped": self.steps_skipped,
            "checks": self.checks,
            "materialized": self.materialized,
            "left_as_built": self.left_as_built,
            "step_seconds": self.step_seconds,
            "step_errors": self.step_errors,
            "unchanged": self.unchanged,
            "job_launched_at": self.job_launched_at,
            "first_step_started_at": self.first_step_started_at,
        }


# dbt's per-node lines that are noise on a terminal; failures, model builds and the final tally stay.
_DBT_NOISE = re.compile(r"^\d+ of \d+ (START|PASS) |^\s*$|^Concurrency:|^Registered adapter|^Running with dbt")
_MAX_LINE = 160
# Dagster's note for each blocking check a step did not evaluate (hundreds when the dbt step builds nothing).
_UNEVALUATED_CHECK = re.compile(r"^Blocking asset check .* emitted no result in step ")


class _FilteredStdout(io.TextIOBase):
    """Stdout during a run: drops dbt's per-test chatter and shortens the long lines (the --vars JSON)."""

    def __init__(self, target, heartbeat: Heartbeat | None = None):
        self._target = target
        self._buffer = ""
        self._heartbeat = heartbeat

    def write(self, text: str) -> int:
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
            if _DBT_NOISE.search(plain):
                continue
            self._target.write((plain if len(plain) <= _MAX_LINE else plain[: _MAX_LINE - 3] + "...") + "\n")
            if self._heartbeat:
                self._heartbeat.touch()
        return len(text)

    def flush(self) -> None:
        self._target.flush()


class _ProgressHandler(logging.Handler):
    """Prints the pipeline's own progress lines (ingest, gates, publish); Dagster's engine chatter stays out."""

    def __init__(self, level: int, heartbeat: Heartbeat | None = None):
        super().__init__(level=level)
        self._heartbeat = heartbeat

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        # Dagster prefixes user messages with "<job> - <run id> - <step> - "; keep the message itself.
        parts = msg.split(" - ", 3)
        text = parts[-1] if len(parts) == 4 else msg
        if _UNEVALUATED_CHECK.search(text):
            return  # one line per blocking check of a step that built nothing; the outcome names the skipped steps
        if len(text) > _MAX_LINE:
            text = text[: _MAX_LINE - 3] + "..."
        print(f"  {time.strftime('%H:%M:%S')} {text}", flush=True)
        if self._heartbeat:
            self._heartbeat.touch()


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


def describe_error(exc: BaseException) -> str:
    """One line naming the error; a full disk is called by its name."""
    first = (str(exc).splitlines() or [""])[0]
    if is_disk_full(exc):
        return f"disk full (ENOSPC): {first}"
    return f"{type(exc).__name__}: {first}"


def run_pipeline(
    settings: Settings | Paths,
    *,
    files: list[str] | None = None,
    wait_seconds: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Execute `pmw_pipeline` in-process with ``settings``; record and return what happened.

    A bare Paths means that data directory with the repository's configuration and no settle time: callers that
    pass one (tests, benchmarks) wrote the landed files themselves, completely, before the run.
    Raises DataDirectoryError (nothing to run) and RunLockBusyError (another run kept the data directory for longer
    than ``wait_seconds``) before anything is written.
    """
    if isinstance(settings, Paths):
        settings = Settings(paths=settings, config=load_config(), landing_settle_seconds=0)
    paths = settings.paths
    require_landed_data(paths)
    paths.ensure()
    with run_lock(paths, wait_seconds=wait_seconds, run="pmw run", on_wait=on_wait):
        settle_killed_run(paths)
        record_run_started(paths)
        try:
            outcome = _execute(settings, files)
        except BaseException as exc:
            _record_exception(paths, exc)
            raise
        record_run(paths, outcome.to_dict())
    return outcome


def _record_exception(paths: Paths, exc: BaseException) -> None:
    """Record a run that ended in an exception as failed. When even that write fails (the disk is still full),
    the original error is the one raised, with a note that it could not be recorded."""
    error = describe_error(exc) if isinstance(exc, Exception) else f"interrupted ({type(exc).__name__})"
    try:
        record_run(paths, {"status": "failed", "ok": False, "success": False, "error": error})
        record_run_failure(paths, {"run_id": None, "message": error, "status": "failed"})
    except OSError as record_exc:
        exc.add_note(f"the failed run could not be recorded in {paths.runs_dir}: {describe_error(record_exc)}")


def _execute(settings: Settings, files: list[str] | None) -> RunOutcome:
    paths = settings.paths
    configure_duckdb(settings)  # every DuckDB this run opens in-process gets the configured bounds
    # Dagster's console logger would print each step failure with its stack trace; print_outcome names every failed
    # step with its error in one line instead (the full trace stays in the event log of a persistent instance).
    run_config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    if files:
        # Each ingest asset takes the landed files of its own source (landing/<source>/...).
        from orchestration.assets.ingest import RAW_ASSETS

        by_source: dict[str, list[str]] = {}
        for f in files:
            source = Path(f).resolve().relative_to(paths.landing).parts[0]
            by_source.setdefault(source, []).append(str(Path(f).resolve()))
        run_config["ops"] = {RAW_ASSETS[source].op.name: {"config": {"files": fs}} for source, fs in by_source.items()}

    # The data directory's own instance, the one `make dev` serves: the UI shows this run, its checks and assets.
    instance = open_instance(paths)
    try:
        for dead in fail_runs_of_dead_workers(instance):
            print(f"marked run {dead[:8]} failed: its process died without reporting an end (its pool slots are freed)")
        unchanged = None if files else _unchanged_night(settings)
        if unchanged is not None:
            from orchestration.jobs import ingest_only_job

            # Neither the dbt manifest nor the whole graph is loaded for it (orchestration/jobs.py).
            outcome = _run_job(ingest_only_job(), instance, settings, run_config)
            # Checked again after ingest: a file that completed in the meantime was loaded, and then tonight builds.
            still, _reason = unchanged_build(settings, build_inputs(settings))
            if not outcome.ok or still is not None:
                outcome.unchanged = _unchanged_record(unchanged) if outcome.ok else None
                return outcome
            print(f"run {outcome.run_id[:8]} loaded new data after all; running the whole pipeline")
        job = _pipeline_job(settings)
        planned = None if files or unchanged is not None else _planned_part(settings)
        if planned is not None:
            scope, kept_gates = planned
            outcome = _run_job(
                _planned_job(job, scope), instance, settings, run_config, tags={BUILD_SCOPE_TAG: scope.to_tag()}
            )
            outcome.checks += kept_gates
        else:
            outcome = _run_job(job, instance, settings, run_config)
        _settle_build_record(paths, outcome)
        return outcome
    finally:
        instance.dispose()


def _pipeline_job(settings: Settings):
    """The whole `pmw_pipeline` job, from the code location's definitions."""
    # @dbt_assets reads the manifest when the definitions load: parse it first, with this run's vars and env.
    with Heartbeat("parsing the dbt project (dbt parse, only when the project or its vars changed)"):
        prepare_dbt_manifest(settings)
    from orchestration.definitions import defs  # imported late: loading it needs the manifest prepared above

    return defs.resolve_job_def("pmw_pipeline")


def _unchanged_night(settings: Settings) -> UnchangedBuild | None:
    """The last successful build, when nothing it read changed and ingest has nothing to read: the run needs
    only ingest and the raw gates (which find nothing and say so)."""
    unchanged, _reason = unchanged_build(settings, build_inputs(settings))
    if unchanged is None or not nothing_to_ingest(settings.paths, settings.landing_settle_seconds):
        return None
    return unchanged


def _planned_part(settings: Settings) -> tuple[BuildScope, list[dict[str, Any]]] | None:
    """The part of the project tonight builds, when build_state plans only a part, with the mart gates it does not
    run again: the gates of the marts the part leaves as built, each with the pass recorded by the run that
    validated that same table (data/runs/gates/<mart>.json). None (the whole job) when build_state plans the whole
    build, or when such a gate's last recorded verdict is not a pass (the whole job validates it again)."""
    scope, _reason = planned_build_scope(settings, build_inputs(settings))
    if scope is None:
        return None
    from orchestration.checks.gates import MART_GATES

    planned_assets = _planned_assets(scope)
    kept = []
    for gate in MART_GATES:
        for check_key in gate.check_keys:
            if check_key.asset_key in planned_assets:
                continue
            table = check_key.asset_key.path[-1]
            last = read_gate_result(settings.paths, table)
            if not last or not last.get("success"):
                return None
            kept.append(
                {
                    "asset": check_key.asset_key.to_user_string(),
                    "check": check_key.name,
                    "passed": True,
                    "severity": "ERROR",
                    "description": (
                        f"{table} not rebuilt (its inputs unchanged since run {scope.since_run_id[:8]}): the gate's "
                        f"pass of run {str(last.get('run_id'))[:8]} on the same table stands (not run again)"
                    ),
                    "judged": True,
                    "kept": True,
                    "validated_by_run": last.get("run_id"),
                }
            )
    return scope, kept


def _planned_assets(scope: BuildScope) -> set:
    """The asset keys a run planned to build ``scope`` holds (``_planned_job``)."""
    from orchestration.assets.dbt import planned_selection, product_metrics_dbt
    from orchestration.assets.ingest import LAKE_ASSETS, RAW_ASSETS
    from orchestration.assets.portfolio import PORTFOLIO_KEYS
    from orchestration.assets.publish import PUBLISHED_MARTS

    ingest = {key for s in scope.changed_sources for asset in (RAW_ASSETS[s], LAKE_ASSETS[s]) for key in asset.keys}
    rebuilt, _checks = planned_selection(product_metrics_dbt, scope)
    return ingest | rebuilt | set(PORTFOLIO_KEYS) | {PUBLISHED_MARTS}


def _planned_job(job, scope: BuildScope):
    """The job holding only what a night that builds ``scope`` runs: ingest and the raw gates of the changed
    sources (no other source's lake can then change during the run), the models dbt builds for them and the data
    tests it runs with them, the mart gates of those marts, the portfolio scoring and its gates, the volume checks
    of what it builds and publish, which copies every mart into a complete release. Planning
    the whole graph costs Dagster one event per planned asset and check (~400), written before the first step."""
    from orchestration.assets.dbt import planned_selection, product_metrics_dbt
    from orchestration.checks.gates import MART_GATES, RAW_GATE_CHECKS
    from orchestration.checks.volume import VOLUME_CHECKS

    assets = _planned_assets(scope)
    _rebuilt, dbt_checks = planned_selection(product_metrics_dbt, scope)
    gates = {key for check in (*RAW_GATE_CHECKS, *MART_GATES) for key in check.check_keys if key.asset_key in assets}
    # Every subject is still counted (orchestration/checks/volume.py); the checks of those not rebuilt are not
    # selected: a blocking check on an unselected model would stand between dbt's models and make a cycle.
    volume = {key for check in VOLUME_CHECKS for key in check.check_keys if key.asset_key in assets}
    return job.get_subset(asset_selection=assets, asset_check_selection=dbt_checks | gates | volume)


def _run_job(
    job, instance, settings: Settings, run_config: dict[str, Any], tags: dict[str, str] | None = None
) -> RunOutcome:
    from dagster._core.utils import make_new_run_id

    from orchestration.sensors import LAUNCHED_BY_TAG

    run_id = make_new_run_id()
    # Steps that print nothing for a while (a gate over many files, dbt's parse) still show they are running.
    heartbeat = Heartbeat("running the pipeline", describe=lambda: _running_steps(instance, run_id))
    handler = _ProgressHandler(level=logging.INFO, heartbeat=heartbeat)
    user_logger = logging.getLogger("dagster")
    user_logger.addHandler(handler)
    started = time.monotonic()
    launched_at = time.time()
    try:
        with contextlib.redirect_stdout(_FilteredStdout(sys.stdout, heartbeat)), heartbeat:
            result = job.execute_in_process(
                run_id=run_id,
                instance=instance,
                raise_on_error=False,
                run_config=run_config,
                resources={"pmw": settings},
                # the CLI alerts its own failures (orchestration/sensors.py)
                tags={LAUNCHED_BY_TAG: "cli", **(tags or {})},
            )
        outcome = _outcome(result, time.monotonic() - started)
        stats = [s for s in instance.get_run_step_stats(result.run_id) if s.start_time]
        outcome.step_seconds = _step_seconds(stats)
        outcome.job_launched_at = launched_at
        outcome.first_step_started_at = min((s.start_time for s in stats), default=None)
    finally:
        user_logger.removeHandler(handler)
    return outcome


def _unchanged_record(unchanged: UnchangedBuild) -> dict[str, str]:
    return {
        "run_id": unchanged.run_id,
        "release_id": unchanged.release_id,
        "built_at": unchanged.built_at,
        "statement": unchanged.statement(),
    }


def _settle_build_record(paths: Paths, outcome: RunOutcome) -> None:
    """Say whether this run skipped the build for nothing new; a run that built but ended not OK (a failed check
    after publish) marks its build failed, so the next run builds again instead of skipping."""
    unchanged = skip_of_run(paths, outcome.run_id)
    if unchanged is not None and not outcome.steps_failed:
        outcome.unchanged = _unchanged_record(unchanged)
    if not outcome.ok:
        record_build_failed(paths, outcome.run_id, "the run ended not OK")


def _running_steps(instance, run_id: str) -> str | None:
    """What the heartbeat names: the steps of ``run_id`` that started and have not ended yet."""
    running = [s.step_key for s in instance.get_run_step_stats(run_id) if s.start_time and not s.end_time]
    return f"running {', '.join(running)}" if running else None


def _outcome(result, seconds: float) -> RunOutcome:
    import dagster as dg

    steps_failed = sorted({e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE})
    steps_skipped = sorted({e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_SKIPPED})
    checks = [
        {
            "asset": ev.asset_key.to_user_string(),
            "check": ev.check_name,
            "passed": ev.passed,
            "severity": ev.severity.value,
            "description": ev.description,
            "judged": check_judged(ev),
            "kept": check_kept(ev),
        }
        for ev in result.get_asset_check_evaluations()
    ]
    materializations = [e for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
    materialized = sorted(e.asset_key.to_user_string() for e in materializations)
    left_as_built = sorted(
        e.asset_key.to_user_string()
        for e in materializations
        if getattr(e.event_specific_data.materialization.metadata.get("rebuilt"), "value", None) is False
    )
    step_errors = {
        e.step_key: _step_error(e.event_specific_data.error)
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE and e.event_specific_data.error is not None
    }
    return RunOutcome(
        run_id=result.run_id,
        success=result.success,
        seconds=seconds,
        steps_failed=steps_failed,
        steps_skipped=steps_skipped,
        checks=checks,
        materialized=materialized,
        left_as_built=left_as_built,
        step_errors=step_errors,
    )


def _step_error(error) -> str:
    """The user's exception behind a step failure (Dagster wraps it), as ``Class: message``; ENOSPC named."""
    while error.cause is not None and error.cls_name in ("DagsterExecutionStepExecutionError", "RetryRequestedError"):
        error = error.cause
    # Dagster's message repeats the class, module-qualified: "pkg.mod.Class: text".
    message = re.sub(rf"^[\w.]*\b{re.escape(error.cls_name)}: ", "", error.message.strip())
    if "[Errno 28]" in message:
        return f"disk full (ENOSPC): {error.cls_name}: {message}"
    return f"{error.cls_name}: {message}"


def _step_seconds(stats) -> dict[str, float]:
    """Wall time of each executed step (Dagster's step stats), in the order the steps started."""
    ended = [s for s in stats if s.start_time and s.end_time]
    return {s.step_key: round(s.end_time - s.start_time, 3) for s in sorted(ended, key=lambda s: s.start_time)}


def print_outcome(outcome: RunOutcome, stream=None) -> None:
    # The stdout of the moment (a default argument would keep the one of import time, past any redirection).
    stream = stream if stream is not None else sys.stdout
    failed, warned = outcome.checks_failed, outcome.checks_warned
    print(
        f"run {outcome.run_id[:8]}: {'OK' if outcome.ok else 'FAILED'} in {outcome.seconds:.1f}s; "
        f"checks {checks_headline(outcome.checks)}; "
        + materialised_headline(outcome.materialized, outcome.left_as_built),
        file=stream,
    )
    for c in failed:
        print(f"  check failed: {c['asset']} / {c['check']}: {c['description']}", file=stream)
    for c in warned:
        print(f"  check warned: {c['asset']} / {c['check']}: {c['description']}", file=stream)
    for s in outcome.steps_failed:
        error = outcome.step_errors.get(s)
        print(f"  step failed: {s}" + (f": {error}" if error else ""), file=stream)
    if outcome.unchanged is not None:
        print(f"  {outcome.unchanged['statement']}", file=stream)
        return
    for s in outcome.steps_skipped:
        print(f"  step skipped (upstream failed): {s}", file=stream)
