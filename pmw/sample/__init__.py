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

__all__ = [
    "AnalyticsTruths",
    "FunnelTruth",
    "MalformedLine",
    "RetentionTruth",
    "SharingTruth",
    "generate_analytics",
    "generate_events_bench",
]
