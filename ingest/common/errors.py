"""File-level ingest failures shared by every source.

An IngestFileError stops one landed file: the loop records it as ``failed`` with the message (which names the file
and the problem) and goes on with the next file. Each source's own file errors subclass it.
"""

from __future__ import annotations


class IngestFileError(ValueError):
    """A landed file that cannot be loaded at all; the message names the file and the problem."""


class UnknownLayoutError(IngestFileError):
    """Content matching none of the supported layouts; the message says what was seen."""


class MalformedFileError(IngestFileError):
    """Bytes that are not UTF-8 / JSON / CSV, or a known layout missing columns it needs."""
