"""Deterministic sample data for the pipeline: vendor-shaped exports with the truths planted in them."""

from sample_generator.analytics import (
    AnalyticsTruths,
    FunnelTruth,
    MalformedLine,
    OutcomeTruth,
    RetentionTruth,
    SharingTruth,
    generate_analytics,
    generate_events_bench,
)
from sample_generator.billing import BillingTruths, generate_billing
from sample_generator.feedback import FeedbackTruths, generate_feedback
from sample_generator.full_sample import generate_sample
from sample_generator.jira import JiraTruths, generate_jira
from sample_generator.people import SampleUser, sample_users, user_email

__all__ = [
    "AnalyticsTruths",
    "BillingTruths",
    "FeedbackTruths",
    "FunnelTruth",
    "JiraTruths",
    "MalformedLine",
    "OutcomeTruth",
    "RetentionTruth",
    "SampleUser",
    "SharingTruth",
    "generate_analytics",
    "generate_billing",
    "generate_events_bench",
    "generate_feedback",
    "generate_jira",
    "generate_sample",
    "sample_users",
    "user_email",
]
