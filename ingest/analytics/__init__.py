"""Analytics exports (Amplitude ZIP/gzip, Mixpanel JSONL, Segment-style CSV/Parquet) -> analytics/events."""

from ingest.analytics.load import ingest_analytics

__all__ = ["ingest_analytics"]
