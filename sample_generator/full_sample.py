"""The whole sample `pmw generate` writes: Jira first, so that its ship instants can plant the initiative outcomes
in the analytics journeys; then analytics, feedback and billing, which replay the same journeys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sample_generator.analytics import ENGINES, PLANTED_OUTCOMES, generate_analytics
from sample_generator.analytics_vectorised import generate_analytics_vectorised
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
    engine: str = "reference",
) -> dict[str, Any]:
    """Write every source's exports under ``landing_dir``; returns their truths by source name.

    ``engine`` draws the analytics journeys (``generate_analytics``): "reference" replays them per user for
    feedback and billing, "vectorised" hands its users over (for samples of millions of events).

    With ``plant_outcomes`` the shipped initiatives of the Jira sample that have a planted outcome
    (``sample_generator.analytics.PLANTED_OUTCOMES``) are launched at their ship instants.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    landing_dir = Path(landing_dir)
    # The Jira project's REST JSON and its UI CSV export: two layouts of the same issues, deduplicated in staging.
    jira = generate_jira(landing_dir, seed=seed, csv_timezone=jira_csv_timezone)
    launches = (
        {k: t.ship_at for k, t in jira.initiatives.items() if t.shipped and t.ship_at and k in PLANTED_OUTCOMES}
        if plant_outcomes
        else None
    )
    common = {"seed": seed, "users": users, "days": days, "signup_days": signup_days, "launches": launches}
    people = billing_users = None
    if engine == "vectorised":
        analytics, signed_up = generate_analytics_vectorised(
            landing_dir, events_per_user=events_per_user, mess=mess, **common
        )
        people, billing_users = signed_up.sample_users(), signed_up.billing_users()
    else:
        analytics = generate_analytics(landing_dir, events_per_user=events_per_user, mess=mess, **common)
    # Survey respondents and requesters are the analytics sample's users (same seed, size, mess and journeys).
    feedback = generate_feedback(
        landing_dir, seed=seed, users=users, days=days, analytics_mess=mess, analytics_signup_days=signup_days,
        launches=launches, people=people,
    )  # fmt: skip
    # Customers are the analytics users who upgraded (same journeys), plus later sign-ups.
    billing = generate_billing(
        landing_dir, seed=seed, users=users, analytics_signup_days=signup_days, launches=launches,
        analytics_users=billing_users,
    )  # fmt: skip
    return {"analytics": analytics, "jira": jira, "feedback": feedback, "billing": billing}
