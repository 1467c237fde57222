"""The dbt CLI resource of the pipeline's `dbt build` (dagster-dbt), apart from orchestration/dbt_cli.py so that only
the dbt asset's definitions load dagster-dbt and dbt-core."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext
from dagster._utils import pushd
from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject
from dagster_dbt.asset_utils import (
    DBT_INDIRECT_SELECTION_ENV,
    DbtCliInvocationPartialParams,
    extract_runtime_selection_from_args,
    get_manifest_and_translator_from_dbt_assets,
    get_updated_cli_invocation_params_for_context,
)
from packaging import version

from core.settings import DBT_PROJECT_DIR
from orchestration.dbt_cli import DbtParseError, dbt_executable, supervised_dbt_executable


class DbtCli(DbtCliResource):
    """dagster-dbt's CLI resource, with the dbt process's environment given as an argument.

    dagster-dbt 0.29 builds a dbt subprocess's environment from ``os.environ`` alone (maintainers suggest setting
    it around the call); here the run's settings pass it explicitly. ``cli_with_env`` is ``DbtCliResource.cli``
    for an ``@dbt_assets`` context with that one change, and without the in-process adapter dagster-dbt opens only
    to fetch column metadata, which this project does not ask for (it would render the profile from os.environ).
    Its ``dbt_executable`` is the supervised dbt, which needs the environment ``cli_with_env`` passes; the version
    probe dagster-dbt runs with os.environ asks the real dbt instead.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(dbt_executable()).parent == Path(sys.executable).parent:
            # The dbt next to this interpreter is this environment's dbt-core: its version without starting it
            # (`dbt --version` costs ~2.5 s of CPU per run, and every `pmw run` asks).
            return version.parse(importlib.metadata.version("dbt-core"))
        raw = subprocess.check_output([dbt_executable(), "--version"], env=os.environ).decode("utf-8")
        match = re.search(r"(\d+\.\d+\.\d+)", raw)
        if not match:
            raise DbtParseError(f"cannot read the dbt version from `{dbt_executable()} --version`: {raw[:500]}")
        return version.parse(match.group(1))

    def cli_with_env(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        context: AssetExecutionContext,
        select: str | None = None,
        planned_subset: bool = False,
    ) -> DbtCliInvocation:
        """``select``: a dbt selection that replaces the asset's own (``fqn:*``) in a run of the whole asset (a
        `--select` in ``args`` would be added to ``fqn:*``, i.e. select everything), or in a run whose subset was
        planned as that selection's models and tests (``planned_subset``: pmw/pipeline.py)."""
        if select is not None and context.is_subset and not planned_subset:
            raise ValueError("a dbt selection replaces the whole asset's, not a subset chosen by asset")
        cleaned_args, runtime_selects, runtime_excludes = extract_runtime_selection_from_args(args)
        if select is not None:
            # The selection is dbt's own: the subset's per-model selection (and the temporary project copy
            # dagster-dbt makes for a long one) is not computed, nor its indirect selection of tests.
            manifest, translator, dbt_project = get_manifest_and_translator_from_dbt_assets([context.assets_def])
            excludes = ["--exclude", " ".join(runtime_excludes)] if runtime_excludes else []
            params = DbtCliInvocationPartialParams(
                manifest=manifest,
                dagster_dbt_translator=translator,
                selection_args=["--select", select, *excludes],
                indirect_selection=None,
                dbt_project=dbt_project,
            )
        else:
            params = get_updated_cli_invocation_params_for_context(
                context=context,
                manifest={},
                dagster_dbt_translator=None,
                runtime_selects=runtime_selects,
                runtime_excludes=runtime_excludes,
            )
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir)
        target_path = self._get_unique_target_path(context=context)
        if not target_path.is_absolute():
            target_path = project_dir / target_path
        selection_args = list(params.selection_args)
        process_env = {
            **env,
            "DAGSTER_DBT_CLI": "true",
            "PYTHONUNBUFFERED": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_LOG_FORMAT": "json",  # dagster-dbt reads dbt's structured log lines
            "DBT_TARGET_PATH": os.fspath(target_path),
            "DBT_LOG_PATH": os.fspath(target_path),
            **({"DBT_PROFILES_DIR": self.profiles_dir} if self.profiles_dir else {}),
            "DBT_PROJECT_DIR": str(project_dir),
        }
        if params.indirect_selection:
            process_env[DBT_INDIRECT_SELECTION_ENV] = params.indirect_selection
        profile_args = [
            *(["--profile", self.profile] if self.profile else []),
            *(["--target", self.target] if self.target else []),
        ]
        with pushd(str(project_dir)):
            return DbtCliInvocation.run(
                args=[
                    self.dbt_executable,
                    *self.global_config_flags,
                    *cleaned_args,
                    *profile_args,
                    *selection_args,
                ],
                env=process_env,
                manifest=params.manifest,
                dagster_dbt_translator=params.dagster_dbt_translator,
                project_dir=project_dir,
                target_path=target_path,
                raise_on_error=True,
                context=context,
                adapter=None,
                cli_version=self._cli_version,
                dbt_project=params.dbt_project,
            )


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

defs = dg.Definitions(
    resources={
        "dbt": DbtCli(
            project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=supervised_dbt_executable()
        ),
    }
)
