"""`pmw`: generate sample exports, run the pipeline once, summarise, and operator actions.

The settings (data directory, configuration) are built once per command from --data-dir / --config, else
$PMW_DATA_DIR / $PMW_CONFIG, and passed down; nothing below reads the environment for them again.

Exit status of `pmw run` (and `demo`): 0 the run succeeded and everything landed is loaded, superseded or
discarded; 1 the run failed (a file that could not be loaded, a gate, a dbt test, a step, a full disk; the
summary names what and how to move on); 2 bad arguments or configuration; 3 no data directory there, or nothing
ever landed in it; 4 another run holds the data directory (after --wait seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from core.config import ConfigError, load_config
from core.settings import (
    CONFIG_ENV,
    DATA_DIR_ENV,
    DEFAULT_LANDING_SETTLE_SECONDS,
    PROJECT_ROOT,
    SOURCES,
    Paths,
    Settings,
    build_settings,
    resolve_data_dir,
)
from ingest.common.landing import DataDirectoryError
from ingest.common.locking import RunLockBusyError
from pmw.progress import Heartbeat

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_DATA = 3
EXIT_BUSY = 4

STARTER_CONFIG_PATH = PROJECT_ROOT / "config" / "starter.yml"
WORKSPACE_PATH = PROJECT_ROOT / "workspace.yaml"


def _settings(args: argparse.Namespace, landing_settle_seconds: float | None = None) -> Settings:
    settle = getattr(args, "settle_seconds", None) if landing_settle_seconds is None else landing_settle_seconds
    return build_settings(args.data_dir, args.config, landing_settle_seconds=settle)


def _cmd_generate(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from sample_generator import generate_sample
    from sample_generator.analytics import MIN_DAYS

    # checked before anything is created or said
    if args.days < MIN_DAYS:
        raise CliArgumentError(f"argument --days: {args.days} is below {MIN_DAYS} (day-28 cohorts must elapse)")
    signup_days = args.signup_days if args.signup_days is not None else args.days
    if not 0 < signup_days <= args.days:
        raise CliArgumentError(f"argument --signup-days: {signup_days} is not within 1..--days ({args.days})")
    settings = settings or _settings(args)
    paths = settings.paths.ensure()
    started = time.monotonic()
    print(f"generating sample exports into {paths.landing} (seed {args.seed}, {args.users} users, {args.days} days)")
    config = settings.config
    with Heartbeat(f"generating the sample ({args.users} users)"):
        all_truths = generate_sample(
            paths.landing,
            seed=args.seed,
            users=args.users,
            days=args.days,
            events_per_user=args.events_per_user,
            mess=not args.no_mess,
            signup_days=signup_days,
            plant_outcomes=not args.no_outcomes,
            jira_csv_timezone=config.jira.csv_timezone,
            engine=args.engine,
        )
    truths_path = paths.data_dir / "sample_truths.json"
    truths_path.write_text(
        json.dumps({k: t.to_dict() for k, t in all_truths.items()}, indent=2, default=str) + "\n", encoding="utf-8"
    )
    files = sum(len(t.files) for t in all_truths.values())
    print(f"  {files} files in {time.monotonic() - started:.1f}s; planted truths in {truths_path}")
    return 0


def _cmd_docs(args: argparse.Namespace) -> int:
    from pmw.docs import DocsError, generate_catalogue

    try:
        settings = _settings(args)
        print(f"generating the mart catalogue from {settings.paths.warehouse_path} (dbt docs generate)")
        with Heartbeat("generating the mart catalogue (dbt docs generate)"):
            out = generate_catalogue(settings.paths, settings.config)
    except DocsError as exc:
        print(f"pmw: {exc}", file=sys.stderr)
        return 1
    print(f"mart catalogue: {out}")
    return 0


def _cmd_run(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from orchestration.dbt_cli import DbtParseError
    from pmw.pipeline import describe_error, is_disk_full, print_outcome, run_pipeline
    from pmw.summary import build_summary, format_summary

    settings = settings or _settings(args)  # a configuration error stops here, with the key named
    files = _landed_files(settings.paths, args.file or [])
    print(f"running the pipeline on {settings.paths.data_dir}")
    try:
        outcome = run_pipeline(
            settings, files=files or None, wait_seconds=args.wait, on_wait=lambda msg: print(f"pmw: {msg}")
        )
    except DataDirectoryError as exc:  # nothing to run, nothing created
        print(f"pmw: {exc}", file=sys.stderr)
        return EXIT_NO_DATA
    except RunLockBusyError as exc:
        print(f"pmw: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except DbtParseError as exc:  # the project does not compile with this configuration: nothing ran
        print(f"pmw: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        print(f"pmw: run failed: {describe_error(exc)}", file=sys.stderr)
        for note in getattr(exc, "__notes__", []):
            print(f"pmw: {note}", file=sys.stderr)
        return EXIT_RUN_FAILED
    print()
    print_outcome(outcome)
    print()
    print(format_summary(build_summary(settings.paths)))
    if not outcome.ok:
        _alert_failed_run(settings, outcome)
        return EXIT_RUN_FAILED
    return EXIT_OK


def _landed_files(paths: Paths, files: list[str]) -> list[str]:
    """--file values as absolute paths of files in landing/<source>/ (relative ones: to the cwd, else landing/)."""
    from ingest.common.landing import LandingPathError, check_landed_file

    checked = []
    for given in files:
        candidate = Path(given).expanduser()
        if not candidate.is_absolute():
            candidate = Path.cwd() / given if (Path.cwd() / given).exists() else paths.landing / given
        candidate = Path(os.path.abspath(candidate))
        try:
            source = candidate.relative_to(paths.landing).parts[0]
        except (ValueError, IndexError):
            raise CliArgumentError(f"argument --file: {given}: not a file under {paths.landing}/<source>/") from None
        if not candidate.exists():
            raise CliArgumentError(f"argument --file: {given}: no such file")
        try:
            checked.append(str(check_landed_file(paths, source, candidate)))
        except LandingPathError as exc:
            raise CliArgumentError(f"argument --file: {exc}") from None
    return checked


def _alert_failed_run(settings: Settings, outcome) -> None:
    """`pmw run` has no daemon watching it: it tells the configured destinations itself."""
    from orchestration.alerts import AlertError, Notifier, run_failed_alert

    alert = run_failed_alert(
        outcome.run_id, "pmw_pipeline", "`pmw run` failed", outcome.steps_failed, outcome.checks_failed
    )
    try:
        delivered = Notifier(settings.config.alerts).send(alert)
    except AlertError as exc:
        print(f"pmw: {exc}", file=sys.stderr)
        return
    if delivered:
        print(f"alert sent to {', '.join(delivered)}")


def _cmd_prepare_dbt(args: argparse.Namespace) -> int:
    from orchestration.dbt_cli import DbtParseError, prepare_dbt_manifest

    try:
        manifest = prepare_dbt_manifest(_settings(args), force=args.force)
    except DbtParseError as exc:
        print(f"pmw: {exc}", file=sys.stderr)
        return 1
    print(f"dbt manifest: {manifest}")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from pmw.summary import build_summary, format_summary

    paths = resolve_data_dir(args.data_dir)
    if not paths.data_dir.is_dir():
        print(f"pmw: no data directory at {paths.data_dir}", file=sys.stderr)
        return EXIT_NO_DATA
    summary = build_summary(paths)
    print(json.dumps(summary, indent=2, default=str) if args.json else format_summary(summary))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    # The files were just written here, completely: no settle time before reading them.
    settings = _settings(args, landing_settle_seconds=0)
    rc = _cmd_generate(args, settings)
    return rc or _cmd_run(args, settings)


def _cmd_discard(args: argparse.Namespace) -> int:
    from ingest.common.lake import discard_file
    from ingest.common.locking import run_lock

    paths = resolve_data_dir(args.data_dir)
    if not paths.data_dir.is_dir():
        print(f"pmw: no data directory at {paths.data_dir}", file=sys.stderr)
        return EXIT_NO_DATA
    # Not while a run is gating or promoting the same files.
    with run_lock(paths, wait_seconds=args.wait, run="pmw discard"):
        moved = discard_file(paths, args.source, args.sha256, reason=args.reason)
    for dest in moved:
        print(f"discarded: {dest}")
    if not moved:
        print(f"discarded: {args.source} file {args.sha256} (it had failed to load; its landed file stays for audit)")
    print("the gates and publish no longer wait for it, and the same bytes will not be loaded again (`pmw summary`)")
    return EXIT_OK


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seconds must be 0 or more, got {text}")
    return value


def _cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.path).expanduser().resolve()
    if target.exists() and not args.force:
        raise CliArgumentError(f"argument path: {target} exists (--force overwrites it)")
    text = STARTER_CONFIG_PATH.read_text(encoding="utf-8").replace("name: my-product", f"name: {args.product}", 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    load_config(tmp)  # the starter must validate as written, or nothing is left behind
    tmp.replace(target)
    print(f"starter configuration: {target}")
    print("  fill in analytics.known_events (the analytics gate needs them), then funnels, retention and initiatives")
    print(f"  use it with: pmw --config {target} run   (or PMW_CONFIG={target})")
    return 0


def _cmd_dev(args: argparse.Namespace) -> int:
    """Replace this process with `dagster dev` on the data directory's instance (`make dev`)."""
    from orchestration.dbt_cli import prepare_dbt_manifest
    from orchestration.instance import prepare_dagster_home

    settings = _settings(args)
    prepare_dbt_manifest(settings)  # the definitions load the manifest
    home = prepare_dagster_home(settings.paths.ensure())
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(WORKSPACE_PATH), "-h", args.host, "-p", str(args.port)]
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        # What the code location's `pmw` resource and sensors read (core.settings.build_settings).
        DATA_DIR_ENV: str(settings.paths.data_dir),
        CONFIG_ENV: str(settings.config_path),
    }
    print(f"Dagster UI on http://{args.host}:{args.port} (instance {home}); Ctrl-C stops it", flush=True)
    # A shell that starts a job in the background, or a supervisor, may hand SIGINT/SIGTERM down ignored; an ignored
    # signal stays ignored across exec, and Dagster would never see Ctrl-C. Restore the defaults before exec.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.execve(command[0], command, env)
    return 0  # not reached: execve replaced this process


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port")
    return value


class CliArgumentError(ValueError):
    """A wrong argument; printed as one line naming it."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a wrong argument is one line naming it (usage stays in --help)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    # The global options, accepted before the subcommand (pmw --data-dir X run) or after it (pmw run --data-dir X).
    global_options = argparse.ArgumentParser(add_help=False)
    global_options.add_argument(
        "--data-dir", default=argparse.SUPPRESS, help="data directory (default: $PMW_DATA_DIR, else <repo>/data)"
    )
    global_options.add_argument(
        "--config", default=argparse.SUPPRESS, help="configuration file (default: $PMW_CONFIG, else config/pmw.yml)"
    )
    # The actions are shared by every parser (parents=), so their defaults stay SUPPRESS: a value given before the
    # subcommand is not overwritten by the subcommand's default; main() fills in None for options never given.
    parser = _Parser(prog="pmw", description=__doc__, parents=[global_options])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add_generate_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--users", type=_positive_int, default=2000)
        p.add_argument("--days", type=_positive_int, default=60)
        p.add_argument("--events-per-user", type=_positive_int, default=30)
        p.add_argument("--no-mess", action="store_true", help="no duplicates, late events or malformed lines")
        p.add_argument(
            "--signup-days",
            type=_positive_int,
            help="users sign up over this many first days, at a slowly tapering rate (default: every day, so daily "
            "events stay smooth; fewer stops sign-ups after that day, a drop in daily events the volume check flags)",
        )
        p.add_argument(
            "--no-outcomes", action="store_true", help="do not plant the initiative outcomes at the Jira ship dates"
        )
        p.add_argument(
            "--engine",
            choices=("reference", "vectorised"),
            default="reference",
            help="how analytics journeys are drawn: reference (one user at a time; the default sample's bytes) or "
            "vectorised (the same model as arrays, for millions of events)",
        )

    def add_run_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--wait",
            type=_seconds,
            default=0.0,
            metavar="SECONDS",
            help="wait up to this long for another run on the data directory to finish (default 0: refuse at once, "
            f"exit status {EXIT_BUSY})",
        )
        p.add_argument(
            "--settle-seconds",
            type=_seconds,
            default=DEFAULT_LANDING_SETTLE_SECONDS,
            metavar="SECONDS",
            help="read a landed file only once its size and mtime have not changed for this long "
            f"(default {DEFAULT_LANDING_SETTLE_SECONDS:.0f})",
        )

    def add(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[global_options], **kwargs)

    gen = add("generate", help="write deterministic sample exports into landing/")
    add_generate_args(gen)
    gen.set_defaults(func=_cmd_generate)

    run = add("run", help="run the pipeline once in-process: ingest -> gates -> dbt -> gates -> publish")
    run.add_argument("--file", action="append", help="only this landed file (repeatable); default: all new files")
    add_run_args(run)
    run.set_defaults(func=_cmd_run)

    summ = add("summary", help="files and rows per source, checks, published outputs")
    summ.add_argument("--json", action="store_true")
    summ.set_defaults(func=_cmd_summary)

    demo = add("demo", help="generate sample exports, then run the pipeline")
    add_generate_args(demo)
    demo.add_argument("--file", action="append", help=argparse.SUPPRESS)
    demo.add_argument("--wait", type=_seconds, default=0.0, help=argparse.SUPPRESS)
    demo.set_defaults(func=_cmd_demo)

    docs = add("docs", help="the mart catalogue: dbt docs as one offline HTML file in data/docs/")
    docs.set_defaults(func=_cmd_docs)

    init = add("init", help="write a documented starter configuration for a new product (no sample content)")
    init.add_argument("path", help="where to write it, e.g. config/my-product.yml")
    init.add_argument("--product", default="my-product", help="the product's name (project.name)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=_cmd_init)

    dev = add("dev", help="the Dagster UI on this data directory's instance (what `make dev` runs)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=_port, default=3000)
    dev.set_defaults(func=_cmd_dev)

    prep = add(
        "prepare-dbt",
        help="parse the dbt project with this data directory's vars and env (`pmw dev` runs it)",
    )
    prep.add_argument("--force", action="store_true", help="parse even if the manifest is current")
    prep.set_defaults(func=_cmd_prepare_dbt)

    disc = add("discard", help="take a landed file out of the way: one that fails its gate, or one that failed to load")
    disc.add_argument("sha256")
    disc.add_argument("--source", default="analytics", choices=SOURCES)
    disc.add_argument("--reason", required=True, help="why, for the audit trail in the manifest")
    disc.add_argument("--wait", type=_seconds, default=0.0, help="seconds to wait for a run holding the data directory")
    disc.set_defaults(func=_cmd_discard)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for option in ("data_dir", "config"):
        if not hasattr(args, option):
            setattr(args, option, None)
    try:
        return args.func(args)
    except BrokenPipeError:  # `pmw summary | head`: the reader left; nothing more to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so the interpreter's final flush does not fail again
        return 0
    except ConfigError as exc:
        print(f"pmw: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CliArgumentError as exc:
        print(f"pmw {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunLockBusyError as exc:
        print(f"pmw: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except (FileNotFoundError, ValueError) as exc:
        # Bad arguments (e.g. a sample too small for every generator) or missing files: one line, not a traceback.
        print(f"pmw {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
