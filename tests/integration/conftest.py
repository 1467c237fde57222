"""Shared end-to-end fixtures.

``portfolio_sample_run``: the sample `pmw generate` writes (every source; Jira's ship instants plant the
initiative outcomes; sign-ups spread over days - 9 so the initiatives have users on both sides of their ship date),
at the smallest size whose planted PROD-1 lift has an expected z of about 4.5, run once through the whole pipeline
for the session. Modules that read the portfolio marts reuse it instead of running their own pipeline.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.config import load_config
from core.settings import Paths
from pmw.pipeline import run_pipeline
from sample_generator import generate_sample

PORTFOLIO_SAMPLE = {"seed": 7, "users": 600, "days": 60, "events_per_user": 3, "signup_days": 51}


@pytest.fixture(scope="session")
def portfolio_sample_run(tmp_path_factory) -> tuple[Paths, dict[str, Any]]:
    """(paths, truths by source: analytics, jira, feedback, billing) after one successful pipeline run."""
    paths = Paths(tmp_path_factory.mktemp("portfolio") / "data").ensure()
    truths = generate_sample(
        paths.landing, **PORTFOLIO_SAMPLE, jira_csv_timezone=load_config().jira.csv_timezone, plant_outcomes=True
    )
    outcome = run_pipeline(paths)
    assert outcome.ok, outcome.to_dict()
    return paths, truths
