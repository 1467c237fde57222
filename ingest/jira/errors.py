"""File-level failures: the file stops, with a message naming it and the problem; other files go on."""

from __future__ import annotations

from ingest.common.errors import IngestFileError


class JiraFileError(IngestFileError):
    """A landed Jira file that cannot be loaded at all."""


class UnknownLayoutError(JiraFileError):
    """Content matching none of the supported layouts; the message says what was seen."""


class MalformedFileError(JiraFileError):
    """Bytes that are not valid JSON / UTF-8 / CSV; the message names the position."""
