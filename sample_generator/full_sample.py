"""The whole sample `pmw generate` writes: Jira first, so that its ship instants can plant the initiative outcomes
in the analytics journeys; then analytics, feedback and billing, which replay the same journeys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sample_generator.analytics import PLANTED_OUTCOMES, generate_analytics
from sample_generator.billing import generate_billing
from sample_generator.feedback import generate_feedback
from sample_generator.jira import generate_jira


def generate_sample(
    landing_dir: Path,
    *,
    seed: int = 7,
    users: int = 2000,
    days: int = 60,
    events_per_user: int = 30,
    mess: bool = True,
    signup_days: int | None = None,
    plant_outcomes: bool = True,
    jira_csv_timezone: str = "Europe/Paris",
) -> dict[str, Any]:
    """Write every source's exports under ``landing_dir``; returns their truths by source name.

    With ``plant_outcomes`` the shipped initiatives of the Jira sample that have a planted outcome
    (``sample_generator.analytics.PLANTED_OUTCOMES``) are launched at their ship instants.
    """
    landing_dir = Path(landing_dir)
    # The Jira project's REST JSON and its UI CSV export: two layouts of the same issues, deduplicated in staging.
    jira = generate_jira(landing_dir, seed=seed, csv_timezone=jira_csv_timezone)
    launches = (
        {k: t.ship_at for k, t in jira.initiatives.items() if t.shipped and t.ship_at and k in PLANTED_OUTCOMES}
        if plant_outcomes
        else None
    )
    analytics = generate_analytics(
        landing_dir,
        seed=seed,
        users=users,
        days=days,
        events_per_user=events_per_user,
        mess=mess,
        signup_days=signup_days,
        launches=launches,
    )
    # Survey respondents and requesters are the analytics sample's users (same seed, size, mess and journeys).
    feedback = generate_feedback(
        landing_dir, seed=seed, users=users, days=days, analytics_mess=mess, analytics_signup_days=signup_days,
        launches=launches,
    )  # fmt: skip
    # Customers are the analytics users who upgraded (same journeys), plus later sign-ups.
    billing = generate_billing(
        landing_dir, seed=seed, users=users, analytics_signup_days=signup_days, launches=launches
    )
    return {"analytics": analytics, "jira": jira, "feedback": feedback, "billing": billing}
