"""The session's one shared pipeline run, which every module that only reads published results uses
(tests/integration, and tests/scenarios for the runs compared with it); the conftest of each folder imports it.

``shared_run``: the sample `pmw generate` writes (every source; Jira's ship instants plant the initiative
outcomes; sign-ups on every day, so the initiatives have users on both sides of their ship date), at the
smallest size whose planted PROD-1 lift has an expected z of about 4.5, run once through the whole pipeline for
the session. Nothing may write into it: a test that runs the pipeline again works on a copy (shutil.copytree,
as tests/scenarios/test_pipeline_reruns.py does). Only data a module needs and this sample does not hold (the Jira
sample as JSON only or CSV only, billing without analytics) gets a run of its own, in tests/scenarios.

Under pytest-xdist every module that uses it runs on one worker (tests/conftest.py groups them), so the session
builds it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from core.config import load_config
from core.settings import Paths
from pmw.pipeline import RunOutcome, run_pipeline
from sample_generator import generate_sample

PORTFOLIO_SAMPLE = {"seed": 7, "users": 600, "days": 60, "events_per_user": 3}


@dataclass(frozen=True)
class SharedRun:
    paths: Paths
    truths: dict[str, Any]  # by source: analytics, jira, feedback, billing
    outcome: RunOutcome


@pytest.fixture(scope="session")
def shared_run(tmp_path_factory) -> SharedRun:
    paths = Paths(tmp_path_factory.mktemp("portfolio") / "data").ensure()
    truths = generate_sample(
        paths.landing, **PORTFOLIO_SAMPLE, jira_csv_timezone=load_config().jira.csv_timezone, plant_outcomes=True
    )
    outcome = run_pipeline(paths)
    assert outcome.ok, outcome.to_dict()
    return SharedRun(paths, truths, outcome)


@pytest.fixture(scope="session")
def portfolio_sample_run(shared_run) -> tuple[Paths, dict[str, Any]]:
    """(paths, truths by source) of the shared run."""
    return shared_run.paths, shared_run.truths
