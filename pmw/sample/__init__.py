"""Deterministic sample data for the pipeline: vendor-shaped exports with the truths planted in them."""

from pmw.sample.analytics import (
    AnalyticsTruths,
    FunnelTruth,
    MalformedLine,
    OutcomeTruth,
    RetentionTruth,
    SharingTruth,
    generate_analytics,
    generate_events_bench,
)
from pmw.sample.billing import BillingTruths, generate_billing
from pmw.sample.feedback import FeedbackTruths, generate_feedback
from pmw.sample.full_sample import generate_sample
from pmw.sample.jira import JiraTruths, generate_jira
from pmw.sample.people import SampleUser, sample_users, user_email

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
