"""Why one analytics file could not be loaded. Every message names the landed file (and member, if any)."""

from __future__ import annotations

from ingest.common.errors import IngestFileError


class AnalyticsFileError(IngestFileError):
    """The whole file is stopped (other files go on); recorded as status ``failed`` in the manifest."""


class UnknownFormatError(AnalyticsFileError):
    """The content matches none of the analytics export formats."""


class UnexpectedColumnsError(AnalyticsFileError):
    """A CSV/Parquet header lacks a required column or has columns that are neither known nor prefixed."""


class CorruptFileError(AnalyticsFileError):
    """A damaged ZIP or gzip stream."""
