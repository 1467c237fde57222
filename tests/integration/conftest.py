"""The session's shared pipeline run (tests/support/shared_run.py)."""

from tests.support.shared_run import portfolio_sample_run, shared_run

__all__ = ["portfolio_sample_run", "shared_run"]
