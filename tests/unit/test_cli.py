"""The command line as a new user meets it: options anywhere, one line per wrong argument, progress, summary."""

from __future__ import annotations

import io
import time

import pytest

from core.config import load_config
from core.settings import Paths
from orchestration.run_records import record_gate_result
from pmw.cli import STARTER_CONFIG_PATH, build_parser, main
from pmw.progress import Heartbeat
from pmw.summary import build_summary, format_summary


@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", "/d", "--config", "/c.yml", "run"],
        ["run", "--data-dir", "/d", "--config", "/c.yml"],
        ["--data-dir", "/d", "run", "--config", "/c.yml"],
    ],
)
def test_global_options_are_accepted_before_or_after_the_subcommand(argv):
    args = build_parser().parse_args(argv)
    assert (args.data_dir, args.config, args.command) == ("/d", "/c.yml", "run")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "--users", "-5"], "pmw generate: argument --users: -5 is not a positive integer"),
        (["generate", "--days", "many"], "pmw generate: argument --days: 'many' is not an integer"),
        (["run", "--bogus"], "pmw: unrecognized arguments: --bogus"),
        (["dev", "--port", "70000"], "pmw dev: argument --port: 70000 is not a TCP port"),
        (["discard", "abc", "--reason", "x", "--source", "crm"], "pmw discard: argument --source: invalid choice"),
        (["frobnicate"], "pmw: argument command: invalid choice: 'frobnicate'"),
    ],
)
def test_a_wrong_argument_is_one_line_naming_it(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1, err


def test_a_missing_or_foreign_file_is_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["run", "--data-dir", str(data), "--file", "nosuchfile.zip"]) == 2
    assert capsys.readouterr().err == "pmw run: argument --file: nosuchfile.zip: no such file\n"
    outside = tmp_path / "export.csv"
    outside.write_text("a\n", encoding="utf-8")
    assert main(["run", "--data-dir", str(data), "--file", str(outside)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pmw run: argument --file: {outside}: not a file under ") and err.count("\n") == 1


def test_generate_refuses_before_saying_it_generates(tmp_path, capsys):
    assert main(["generate", "--data-dir", str(tmp_path / "d"), "--days", "45", "--signup-days", "46"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "pmw generate: argument --signup-days: 46 is not within 1..--days (45)\n"
    assert main(["generate", "--data-dir", str(tmp_path / "d"), "--days", "30"]) == 2  # default sign-up days: all 30
    assert capsys.readouterr().err == "pmw generate: argument --days: 30 is below 31 (day-28 cohorts must elapse)\n"
    assert not (tmp_path / "d").exists()


def test_init_writes_a_starter_without_sample_content_and_never_overwrites(tmp_path, capsys):
    target = tmp_path / "config" / "acme.yml"
    assert main(["init", str(target), "--product", "acme"]) == 0
    config = load_config(target)
    sample = load_config()
    assert config.project == {"name": "acme"}
    assert config.initiatives == () and config.funnels == () and config.retention == ()
    assert config.analytics.known_events == () and config.feedback.kano_features == ()
    dbt_vars = config.dbt_vars()
    assert dbt_vars["initiatives"] == [] and dbt_vars["kano_features"] == [] and dbt_vars["channel_map"] == {}
    sample_keys = {i.key for i in sample.initiatives}
    assert not any(key in target.read_text(encoding="utf-8") for key in sample_keys)
    assert "freshness" in target.read_text(encoding="utf-8") and "alerts" in target.read_text(encoding="utf-8")

    capsys.readouterr()
    assert main(["init", str(target)]) == 2
    assert capsys.readouterr().err == f"pmw init: argument path: {target} exists (--force overwrites it)\n"
    assert STARTER_CONFIG_PATH.read_text(encoding="utf-8") != (STARTER_CONFIG_PATH.parent / "pmw.yml").read_text()


def _wait_until(condition, seconds: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` passed (a bound for a loaded machine, not the expected wait)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_heartbeat_names_the_work_while_it_prints_nothing():
    # A beat every 0.05 s, looked for every 0.01 s: the same loop as the CLI's 5 s / 0.5 s, without waiting on them.
    stream = io.StringIO()
    with Heartbeat("generating the sample", every=0.05, poll=0.01, stream=stream) as beat:
        assert _wait_until(lambda: len(stream.getvalue().splitlines()) >= 2)
        beat.label = "writing the files"
        assert _wait_until(lambda: "... still writing the files (" in stream.getvalue())
    lines = stream.getvalue().splitlines()
    renamed = next(i for i, line in enumerate(lines) if "writing the files" in line)
    assert renamed >= 2 and all("... still generating the sample (" in line for line in lines[:renamed])


def test_the_summary_names_the_report_aligns_long_names_and_keeps_counts_after_a_no_op_run(tmp_path):
    paths = Paths(tmp_path / "data").ensure()
    record_gate_result(paths, "raw_analytics_events", "run-one-1", {"success": True, "rows_validated": 131948})
    record_gate_result(paths, "raw_analytics_events", "run-two-2", {"success": True, "rows_validated": 0})
    record_gate_result(paths, "raw_feedback_survey_responses", "run-two-2", {"success": True, "rows_validated": 1374})
    summary = build_summary(paths)
    summary["publication"] = {
        "release_id": "r1",
        "run_id": "run-two-2",
        "report": {"file": "report.html"},
        "tables": [
            {"name": "fct_nps", "rows": 32},
            {"name": "fct_initiative_adoption_weekly", "rows": 11},
        ],
    }
    text = format_summary(summary)
    no_op = "passed, nothing new (last validated 131,948 rows: passed, run run-one-"
    assert f"raw_analytics_events           {no_op}" in text
    assert "raw_feedback_survey_responses  passed (1,374 rows)" in text
    assert f"{paths.published}/report.html  (the charts of this release" in text
    table_lines = [line for line in text.splitlines() if line.endswith(" rows") and line.startswith("    ")]
    assert len({line.index(" rows") for line in table_lines}) == 1  # the counts line up
