"""File-level and record-level failures of feedback ingest.

A FeedbackFileError stops one file (the message names the file and the problem; other files go on). A RecordError
quarantines one record; its message is the quarantine reason.
"""

from __future__ import annotations

from ingest.common.errors import IngestFileError


class FeedbackFileError(IngestFileError):
    """A landed feedback file that cannot be loaded at all."""


class UnknownLayoutError(FeedbackFileError):
    """Content matching none of the supported layouts; the message says what was seen."""


class MalformedFileError(FeedbackFileError):
    """Bytes that are not valid UTF-8 / JSON / CSV, or a known layout whose columns do not fit; names the position."""


class RecordError(ValueError):
    """One record (CSV row, JSON object, Kano answer) that cannot be loaded; the message is the quarantine reason."""
