"""Lint the dbt SQL with sqlfluff's dbt templater (`make lint`).

The templater compiles the project, so the dbt profile's env vars must point somewhere: a throwaway directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from core.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Paths
from orchestration.dbt_cli import dbt_env


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pmw-sqlfluff-") as tmp:
        paths = Paths(Path(tmp))
        (paths.lake / "analytics" / "events").mkdir(parents=True)
        paths.warehouse_dir.mkdir(parents=True)
        env = {**os.environ, **dbt_env(paths)}
        sqlfluff = Path(sys.executable).with_name("sqlfluff")
        cmd = [str(sqlfluff), "lint", str(DBT_PROJECT_DIR / "models"), "--processes", "2", "--disable-progress-bar"]
        return subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
