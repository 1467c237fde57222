"""Lint the dbt SQL with sqlfluff's dbt templater (`make lint`).

The templater compiles the project, so it needs what a build gets: the dbt vars of the repository's configuration
(core.config.PipelineConfig.dbt_vars(), the only place they are defined) and the profile's env vars pointing
somewhere (a throwaway data directory). Vars the `.sqlfluff` context sets win: they render the metric models with
a representative configuration (every filter op, both entry modes, ...). sqlfluff's own config files can only hold
strings for those, so the vars are set through its API, in a subprocess that gets the dbt env as its environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from core.config import load_config
from core.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Paths
from orchestration.dbt_cli import dbt_process_env

_CONTEXT = ("templater", "dbt", "context")


def lint(models_dir: Path, dbt_vars: dict) -> int:
    """Lint ``models_dir`` with the project's sqlfluff config plus ``dbt_vars``; print violations, return 0 if none."""
    from sqlfluff.core import FluffConfig, Linter

    config = FluffConfig.from_root()
    representative = config.get_section(_CONTEXT) or {}
    for name, value in dbt_vars.items():
        if name not in representative:
            config.set_value([*_CONTEXT, name], value)
    result = Linter(config=config).lint_paths((str(models_dir),), processes=2)
    violations = 0
    for record in result.as_records():
        for v in record["violations"]:
            violations += 1
            print(f"{record['filepath']}:{v['start_line_no']}:{v['start_line_pos']}: {v['code']} {v['description']}")
    print(f"sqlfluff: {violations} violation(s) in {len(result.as_records())} file(s)")
    return 1 if violations else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--vars-file"]:  # the subprocess below, with the dbt env as its environment
        return lint(DBT_PROJECT_DIR / "models", json.loads(Path(argv[1]).read_text(encoding="utf-8")))
    with tempfile.TemporaryDirectory(prefix="pmw-sqlfluff-") as tmp:
        paths = Paths(Path(tmp))
        (paths.lake / "analytics" / "events").mkdir(parents=True)
        paths.warehouse_dir.mkdir(parents=True)
        vars_path = Path(tmp) / "dbt_vars.json"
        vars_path.write_text(json.dumps(load_config().dbt_vars()), encoding="utf-8")
        env = {**dbt_process_env(paths), "PYTHONPATH": str(PROJECT_ROOT)}
        cmd = [sys.executable, "-m", "pmw.lint_sql", "--vars-file", str(vars_path)]
        return subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
