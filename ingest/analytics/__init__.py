"""Analytics exports (Amplitude ZIP/gzip, Mixpanel JSONL, Segment-style CSV/Parquet) -> analytics/events."""

from ingest.analytics.load import FileResult, IngestReport, ingest_analytics

__all__ = ["FileResult", "IngestReport", "ingest_analytics"]
