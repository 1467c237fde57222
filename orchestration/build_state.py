"""Whether tonight's dbt build, mart gates and publish can be skipped: nothing they depend on changed since the last
successful build (a no-op night costs Dagster's and ingest's fixed costs, not a rebuild); and, when only some
sources' lake files changed, which part of the dbt project must be built again (``partial_build_scope``).

The record ``data/runs/last_build.json`` goes through three states:
  building   written by the dbt asset before `dbt build` starts, with the fingerprint of its inputs; a run that
             fails or stops anywhere after that leaves it here, and a record in this state never allows a skip
  published  written by the publish asset once the release is swapped in (same run, full build): the fingerprint,
             the release id and the warehouse file's size and mtime after the portfolio asset wrote into it
  failed     written by the in-process runner when a run that published still ended not OK (a failed check)

A run may skip only when the record is ``published`` and all of these hold, compared cheaply (stat or a hash of a
few MB, no query):
- the inputs' fingerprint is the same: every lake file dbt reads (name, size, mtime; names are content hashes),
  every file of the dbt project, the dbt vars and environment, the whole configuration, the code of the layers
  that build, gate and publish, and the versions of the packages doing it;
- the warehouse file is the one that run left (size and mtime), and BI still reads that run's release;
- no landed file is failed and unresolved (publish refuses to publish then; skipping would hide it).

A run may build only the models downstream of some sources (``dbt build --select source:<name>+``) when the record
is ``published``, the warehouse and the served release are that build's, and the only inputs that changed are the
lake files of those sources: every other model reads nothing that changed, so the table that build left is the one
a full build would make again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from core.settings import DBT_PROJECT_DIR, SOURCES, Paths, Settings
from ingest.common.hashing import file_sha256
from ingest.common.lake import pending_files, unresolved_failed_files
from ingest.common.landing import list_settled_files
from ingest.common.manifest import read_manifest
from orchestration.assets.ingest import SOURCE_SPECS
from orchestration.dbt_cli import dbt_env, dbt_vars_json
from orchestration.run_records import _write_json_atomic
from publish.release import current_publication

BUILDING = "building"
PUBLISHED = "published"
FAILED = "failed"

REPO = Path(__file__).resolve().parents[1]
# The code the skipped steps run (dbt's inputs are the dbt project itself): the gates, the portfolio scoring, the
# release and its report, the Dagster wiring and the settings they share. Ingest code only changes the lake on a
# load, which the lake's listing shows.
CODE_DIRS = ("core", "expectations", "portfolio", "publish", "orchestration")
# dbt's own outputs and caches live in the project directory; they are results of a build, not its inputs.
_DBT_OUTPUT_DIRS = frozenset({"target", "logs", "dbt_packages"})
# The lake's areas dbt does not read: files waiting for their gate, rejected rows, the ingest manifest (a file landed
# again under another name only adds an alias there) and temporary files.
_LAKE_UNREAD_DIRS = frozenset({"_pending", "_quarantine", "_manifest", "_tmp"})
DISTRIBUTIONS = (
    "dbt-core",
    "dbt-duckdb",
    "duckdb",
    "dagster",
    "dagster-dbt",
    "great_expectations",
    "pandas",
    "pyarrow",
    "altair",
)


def _last_build_path(paths: Paths) -> Path:
    return paths.runs_dir / "last_build.json"


def read_last_build(paths: Paths) -> dict[str, Any] | None:
    path = _last_build_path(paths)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _tree_digest(root: Path, *, skip_dirs: frozenset[str], content: bool) -> str:
    """sha256 over the relative path and either the bytes or (size, mtime_ns) of every file under ``root``.

    ``skip_dirs`` (top level) and hidden or __pycache__ folders are pruned, never walked: dbt's target/ can hold
    tens of thousands of files that are outputs, not inputs.
    """
    digest = hashlib.sha256()
    if not root.is_dir():
        return digest.hexdigest()
    files: list[Path] = []
    for folder, dirs, names in os.walk(root):
        at_top = folder == str(root)
        # Dot files are tool state (dbt's .user.yml), not inputs.
        dirs[:] = [d for d in dirs if not (d.startswith(".") or d == "__pycache__" or (at_top and d in skip_dirs))]
        files.extend(Path(folder, name) for name in names if not name.startswith("."))
    for path in sorted(files):
        if not path.is_file():
            continue
        relative = path.relative_to(root)
        digest.update(str(relative).encode() + b"\0")
        if content:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        else:
            stat = path.stat()
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


# Inputs named "lake/<source>" are one source's lake files; "lake/other" is anything else in the lake dbt could read.
LAKE_INPUT_PREFIX = "lake/"
_OTHER_LAKE_INPUT = f"{LAKE_INPUT_PREFIX}other"


def _lake_digests(lake: Path) -> dict[str, str]:
    """One digest per source's lake folder (lake/<source>/<entity>/*.parquet), so a build can tell which changed."""
    digests = {
        f"{LAKE_INPUT_PREFIX}{source}": _tree_digest(lake / source, skip_dirs=frozenset(), content=False)
        for source in SOURCES
    }
    digests[_OTHER_LAKE_INPUT] = _tree_digest(lake, skip_dirs=_LAKE_UNREAD_DIRS | set(SOURCES), content=False)
    return digests


def build_inputs(settings: Settings) -> dict[str, str]:
    """The fingerprint of everything the dbt build, the mart gates and publish read, one digest per input."""
    paths, config = settings.paths, settings.config
    return {
        **_lake_digests(paths.lake),
        "dbt_project": _tree_digest(DBT_PROJECT_DIR, skip_dirs=_DBT_OUTPUT_DIRS, content=True),
        "dbt_vars": _text_digest(dbt_vars_json(config)),
        "dbt_env": _text_digest(json.dumps(dbt_env(paths), sort_keys=True)),
        "config": _text_digest(config.model_dump_json(exclude={"path"})),
        "code": _text_digest("".join(_tree_digest(REPO / d, skip_dirs=frozenset(), content=True) for d in CODE_DIRS)),
        "packages": _text_digest(json.dumps(_versions(), sort_keys=True)),
    }


def _warehouse_state(paths: Paths) -> dict[str, int] | None:
    try:
        stat = paths.warehouse_path.stat()
    except FileNotFoundError:
        return None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@dataclass(frozen=True)
class UnchangedBuild:
    """Tonight changes nothing the build reads: the last successful build's run and the release BI reads."""

    run_id: str
    release_id: str
    built_at: str

    def statement(self) -> str:
        return (
            f"nothing landed since run {self.run_id[:8]}; warehouse and publication unchanged "
            f"(release {self.release_id}): dbt build, mart gates and publish skipped"
        )


def _changed_inputs(record: dict[str, Any], inputs: dict[str, str]) -> list[str]:
    """The build inputs whose fingerprint differs from the recorded build's (added or gone ones included)."""
    recorded = record.get("inputs", {})
    return sorted(k for k in inputs.keys() | recorded.keys() if recorded.get(k) != inputs.get(k))


def _served_build_problem(paths: Paths, record: dict[str, Any]) -> str | None:
    """Why the recorded build no longer stands as what is built and served (None when it does): the warehouse file
    is not the one it left, or BI reads another release."""
    if _warehouse_state(paths) != record.get("warehouse"):
        return "the warehouse file changed since the last build"
    publication = current_publication(paths)
    if publication is None or publication.get("release_id") != record.get("release_id"):
        return "BI no longer reads the last build's release"
    return None


def unchanged_build(settings: Settings, inputs: dict[str, str]) -> tuple[UnchangedBuild | None, str]:
    """The last successful build when tonight may skip (else None), and why: the first difference found."""
    paths = settings.paths
    record = read_last_build(paths)
    if record is None:
        return None, "no successful build recorded"
    if record.get("status") != PUBLISHED:
        return None, f"the last build (run {str(record.get('run_id'))[:8]}) did not finish: {record.get('status')}"
    changed = _changed_inputs(record, inputs)
    if changed:
        return None, f"changed since run {str(record['run_id'])[:8]}: {', '.join(changed)}"
    served = _served_build_problem(paths, record)
    if served:
        return None, served
    if unresolved_failed_files(paths):
        return None, "landed files failed to load and are unresolved"
    return UnchangedBuild(record["run_id"], record["release_id"], record["built_at"]), "unchanged"


# The run tag of a run planned to build only a part of the project (pmw/pipeline.py): the dbt step builds that part.
BUILD_SCOPE_TAG = "pmw/build_scope"


@dataclass(frozen=True)
class BuildScope:
    """Tonight's build is the models downstream of the sources whose lake files changed since the last published
    build; every other model is left as that build made it (it reads nothing that changed)."""

    changed_sources: tuple[str, ...]
    unchanged_sources: tuple[str, ...]
    since_run_id: str

    @property
    def dbt_select(self) -> str:
        """dbt's selection: each changed source and everything downstream of it (tests included)."""
        return " ".join(f"source:{source}+" for source in self.changed_sources)

    def statement(self) -> str:
        return (
            f"built the models downstream of {', '.join(self.changed_sources)} (new lake files; dbt --select "
            f"{self.dbt_select}); the models that read only {', '.join(self.unchanged_sources)} were left as run "
            f"{self.since_run_id[:8]} built them (their lake files unchanged)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "changed_sources": list(self.changed_sources),
            "unchanged_sources": list(self.unchanged_sources),
            "since_run_id": self.since_run_id,
            "dbt_select": self.dbt_select,
            "statement": self.statement(),
        }

    def to_tag(self) -> str:
        """The run tag (BUILD_SCOPE_TAG) of a run planned to build only this part."""
        return json.dumps({"changed_sources": list(self.changed_sources), "since_run_id": self.since_run_id})

    @classmethod
    def from_tag(cls, tag: str) -> BuildScope:
        value = json.loads(tag)
        changed = tuple(s for s in SOURCES if s in value["changed_sources"])
        if len(changed) != len(value["changed_sources"]) or not changed:
            raise ValueError(f"run tag {BUILD_SCOPE_TAG}: not a list of known sources: {value['changed_sources']}")
        return cls(changed, tuple(s for s in SOURCES if s not in changed), str(value["since_run_id"]))


# What defines the rows an incremental model computes: its SQL and macros, the vars its logic reads (funnels,
# session timeout, ...), the dbt and adapter versions. The rows it keeps from earlier builds were computed under the
# definition of the build that made them; only a --full-refresh makes every row agree with a new one.
DEFINITION_INPUTS = ("dbt_project", "dbt_vars", "packages")


def _definition_path(paths: Paths) -> Path:
    return paths.runs_dir / "dbt_definition.json"


def _definition_of(inputs: dict[str, str]) -> dict[str, str]:
    return {name: inputs[name] for name in DEFINITION_INPUTS}


def full_refresh_reason(paths: Paths, inputs: dict[str, str]) -> str | None:
    """Why tonight's `dbt build` must be a ``--full-refresh`` (None when the incremental models may keep their
    rows): the definition they were last built under is unknown (a first build, a build that failed or stopped
    after it began refreshing) or differs from tonight's. Without it, a changed funnel or session rule with no new
    event would leave every stored period as the old rule computed it: a number silently different."""
    path = _definition_path(paths)
    if not path.exists():
        return "no record of the definition the incremental models were last built under (first or unfinished build)"
    recorded = json.loads(path.read_text(encoding="utf-8")).get("definition", {})
    changed = [name for name in DEFINITION_INPUTS if recorded.get(name) != inputs.get(name)]
    if changed:
        return f"changed since the incremental models were built: {', '.join(changed)}"
    return None


def forget_built_definition(paths: Paths) -> None:
    """Before a full refresh: until it succeeds, the tables are of no one definition, so the next build refreshes."""
    _definition_path(paths).unlink(missing_ok=True)


def record_built_definition(paths: Paths, run_id: str, inputs: dict[str, str]) -> None:
    """After `dbt build` succeeded: every incremental model's rows are of this definition."""
    _write_json_atomic(
        _definition_path(paths),
        {"definition": _definition_of(inputs), "run_id": run_id, "recorded_at": datetime.now(UTC).isoformat()},
    )


def _recorded_source_changes(
    paths: Paths, inputs: dict[str, str]
) -> tuple[dict[str, Any] | None, tuple[str, ...], str]:
    """The published build a part can be built on, the sources whose lake files changed since it, and why there
    is no such build (record None): not published, another input changed, the served build is not its, or the
    incremental models need a full refresh."""
    record = read_last_build(paths)
    if record is None or record.get("status") != PUBLISHED:
        return None, (), "no published build to build on"
    changed = _changed_inputs(record, inputs)
    since = str(record["run_id"])
    other = [k for k in changed if not k.startswith(LAKE_INPUT_PREFIX) or k == _OTHER_LAKE_INPUT]
    if other:
        return None, (), f"changed since run {since[:8]}: {', '.join(other)}"
    served = _served_build_problem(paths, record)
    if served:
        return None, (), served
    refresh = full_refresh_reason(paths, inputs)
    if refresh is not None:
        return None, (), f"a full refresh is due: {refresh}"
    return record, tuple(s for s in SOURCES if f"{LAKE_INPUT_PREFIX}{s}" in changed), ""


def _scope_of(record: dict[str, Any], changed_sources: tuple[str, ...]) -> tuple[BuildScope | None, str]:
    since = str(record["run_id"])
    if not changed_sources:
        return None, f"no source's lake files changed since run {since[:8]}"
    if len(changed_sources) == len(SOURCES):
        return None, f"every source's lake files changed since run {since[:8]}"
    unchanged_sources = tuple(s for s in SOURCES if s not in changed_sources)
    return BuildScope(changed_sources, unchanged_sources, since), "only some sources' lake files changed"


def partial_build_scope(settings: Settings, inputs: dict[str, str]) -> tuple[BuildScope | None, str]:
    """The part of the project tonight must build when only some sources' lake files changed since the last
    published build (else None: build everything), and why not when it must build everything.

    Conservative: any other changed input (project, vars, configuration, code, packages, a lake file outside the
    sources' folders), a warehouse or release not the last build's, or every source changed, builds everything."""
    record, changed_sources, reason = _recorded_source_changes(settings.paths, inputs)
    if record is None:
        return None, reason
    return _scope_of(record, changed_sources)


def planned_build_scope(settings: Settings, inputs: dict[str, str]) -> tuple[BuildScope | None, str]:
    """Before the run starts: the part of the project tonight will build, when it is a part (else None: the whole
    job runs), and why not a part. The runner then plans only that part (pmw/pipeline.py), and the dbt step
    confirms it after ingest (``confirm_planned_scope``).

    The changed sources are those whose lake files already differ from the last published build's and those
    tonight's ingest may change (a landed file not loaded yet, or a pending lake file); ingest runs for those
    sources only, so no other source's lake can change during the run. Uncertain means the whole job: a landed
    file still settling anywhere (it may complete while the run goes on), or anything ``partial_build_scope``
    refuses."""
    paths = settings.paths
    record, lake_changed, reason = _recorded_source_changes(paths, inputs)
    if record is None:
        return None, reason
    to_ingest, settling = ingest_outlook(paths, settings.landing_settle_seconds)
    if settling:
        return None, f"landed files still settling in {', '.join(settling)}"
    return _scope_of(record, tuple(s for s in SOURCES if s in lake_changed or s in to_ingest))


def confirm_planned_scope(settings: Settings, inputs: dict[str, str], planned: BuildScope) -> str | None:
    """After ingest, in a run planned to build ``planned`` only: why that part no longer stands for tonight's
    build (None when it does). It stands while the last published build is still ``planned.since_run_id``'s and
    served, nothing but lake files changed since, and only the planned sources' lake files did (a planned source
    whose ingest loaded nothing is built again all the same: its models read unchanged inputs)."""
    record, changed_sources, reason = _recorded_source_changes(settings.paths, inputs)
    if record is None:
        return reason
    if str(record["run_id"]) != planned.since_run_id:
        return f"the last published build is run {str(record['run_id'])[:8]}'s, not {planned.since_run_id[:8]}'s"
    unplanned = [s for s in changed_sources if s not in planned.changed_sources]
    if unplanned:
        return f"lake files of {', '.join(unplanned)} changed too"
    return None


def build_scope_of_run(paths: Paths, run_id: str) -> dict[str, Any] | None:
    """The scope ``run_id`` built (BuildScope.to_dict), if it built part of the project; None for a whole build."""
    record = read_last_build(paths)
    if not record or record.get("run_id") != run_id:
        return None
    return record.get("scope")


# Manifest statuses after which ingest never reads the same bytes again.
_SETTLED_STATUSES = frozenset({"loaded", "discarded"})


def ingest_outlook(paths: Paths, settle_seconds: float) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The sources tonight's ingest may change the lake of (a pending lake file waiting for its gate, or a complete
    landed file whose bytes are neither loaded nor discarded), and the sources with landed files still settling.

    Conservative (it hashes every complete landed file, as ingest does): an unreadable file counts as to ingest."""
    to_ingest: list[str] = []
    settling: list[str] = []
    for source in SOURCES:
        listing = list_settled_files(paths, source, settle_seconds)
        if listing.waiting:
            settling.append(source)
        if any(pending_files(paths, source, entity) for entity in SOURCE_SPECS[source].entities):
            to_ingest.append(source)
            continue
        settled = {r["sha256"] for r in read_manifest(paths, source) if r.get("status") in _SETTLED_STATUSES}
        for landed in listing.settled:
            try:
                if file_sha256(landed) not in settled:
                    to_ingest.append(source)
                    break
            except FileNotFoundError:  # moved away since it was listed: nothing to read
                continue
            except OSError:  # unreadable: ingest reads it and fails it by name
                to_ingest.append(source)
                break
    return tuple(to_ingest), tuple(settling)


def nothing_to_ingest(paths: Paths, settle_seconds: float) -> bool:
    """No landed file ingest would read (every complete one's bytes are loaded or discarded) and no pending lake
    file waiting for its gate: tonight's ingest cannot change the lake (files still settling are not read).

    Conservative (it hashes every complete landed file, as ingest does); the caller checks the lake afterwards."""
    to_ingest, _settling = ingest_outlook(paths, settle_seconds)
    return not to_ingest


def record_build_started(paths: Paths, run_id: str, inputs: dict[str, str], scope: BuildScope | None = None) -> None:
    """Before `dbt build`: from here until publish succeeds, no later run may skip (nor build only a part).
    ``scope``: the part built, when not everything (the summary says what was built and what was left)."""
    _write(paths, {"status": BUILDING, "run_id": run_id, "inputs": inputs, "scope": scope and scope.to_dict()})


def record_build_published(paths: Paths, run_id: str, release_id: str) -> bool:
    """After this run's release is swapped in: the build whose inputs the dbt asset recorded is complete.

    Only a run that built everything (its own ``building`` record) completes it; a publish on its own (the UI)
    leaves the record as it is, so the next run builds. Returns whether the record was completed."""
    record = read_last_build(paths)
    if record is None or record.get("status") != BUILDING or record.get("run_id") != run_id:
        return False
    _write(
        paths,
        record
        | {
            "status": PUBLISHED,
            "release_id": release_id,
            "warehouse": _warehouse_state(paths),
            "built_at": datetime.now(UTC).isoformat(),
        },
    )
    return True


def record_build_failed(paths: Paths, run_id: str, reason: str) -> None:
    """A run that built and published but still ended not OK: the next run must build again."""
    record = read_last_build(paths)
    if record is not None and record.get("run_id") == run_id and record.get("status") != FAILED:
        _write(paths, record | {"status": FAILED, "reason": reason})


def record_skip(paths: Paths, run_id: str, unchanged: UnchangedBuild) -> None:
    """Which run skipped, so the runner can tell a skip for nothing new from a step skipped after a failure."""
    record = read_last_build(paths) or {}
    _write(paths, record | {"skipped_by": {"run_id": run_id, "at": datetime.now(UTC).isoformat()}})


def skip_of_run(paths: Paths, run_id: str) -> UnchangedBuild | None:
    """The unchanged build ``run_id`` skipped for, if it skipped."""
    record = read_last_build(paths)
    if not record or (record.get("skipped_by") or {}).get("run_id") != run_id:
        return None
    return UnchangedBuild(record["run_id"], record["release_id"], record["built_at"])


def _write(paths: Paths, payload: dict[str, Any]) -> None:
    _write_json_atomic(_last_build_path(paths), {**payload, "recorded_at": datetime.now(UTC).isoformat()})
