"""A mistyped --data-dir, or one where nothing was ever landed, runs nothing, creates nothing, and says so."""

from __future__ import annotations

from pmw.cli import EXIT_NO_DATA, main


def test_a_missing_data_directory_is_refused_and_not_created(tmp_path, capsys):
    missing = tmp_path / "dta"

    code = main(["--data-dir", str(missing), "run", "--settle-seconds", "0"])

    err = capsys.readouterr().err
    assert code == EXIT_NO_DATA
    assert f"no data directory at {missing}" in err and len(err.strip().splitlines()) == 1
    assert not missing.exists()


def test_a_data_directory_where_nothing_was_landed_is_refused(tmp_path, capsys):
    empty = tmp_path / "data"
    (empty / "landing" / "analytics").mkdir(parents=True)
    (empty / "landing" / "analytics" / "export.jsonl.part").write_text("{}\n")  # still being written: not landed

    code = main(["--data-dir", str(empty), "run", "--settle-seconds", "0"])

    err = capsys.readouterr().err
    assert code == EXIT_NO_DATA
    assert f"nothing was ever landed in {empty / 'landing'}" in err
    assert sorted(p.name for p in empty.iterdir()) == ["landing"]  # no lake, warehouse or release created


def test_summary_of_a_missing_data_directory_says_so(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "nope"), "summary"]) == EXIT_NO_DATA
    assert "no data directory" in capsys.readouterr().err
