"""Deterministic sample data for the pipeline: vendor-shaped exports with the truths planted in them."""

from pmw.sample.analytics import (
    AnalyticsTruths,
    FunnelTruth,
    MalformedLine,
    RetentionTruth,
    SharingTruth,
    generate_analytics,
    generate_events_bench,
)
from pmw.sample.billing import BillingTruths, generate_billing
from pmw.sample.jira import JiraTruths, generate_jira

__all__ = [
    "AnalyticsTruths",
    "BillingTruths",
    "FunnelTruth",
    "JiraTruths",
    "MalformedLine",
    "RetentionTruth",
    "SharingTruth",
    "generate_analytics",
    "generate_billing",
    "generate_events_bench",
    "generate_jira",
]
