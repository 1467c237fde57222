"""Ingest ad spend exports: landing/marketing/** -> lake/_pending/marketing/spend/<sha256>.parquet (+ quarantine,
manifest), on the shared loop of ingest/common/loop.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.config import PipelineConfig
from core.settings import Paths
from ingest.common.loop import SourceSpec, ingest_files
from ingest.common.report import IngestReport
from ingest.common.row_writer import RowRules, RowSource
from ingest.common.text import scrub_emails
from ingest.marketing import contract
from ingest.marketing.spend import SpendContext, parse_spend_file

PARSER_VERSION = "marketing-1"
SOURCE = contract.SOURCE
MARKETING = SourceSpec(SOURCE, PARSER_VERSION, contract.ENTITIES, contract.QUARANTINE_COLUMNS)


def ingest_marketing(
    paths: Paths,
    config: PipelineConfig,
    *,
    files: list[Path] | None = None,
    log: Callable[[str], None] | None = None,
) -> IngestReport:
    """Load new ad spend exports into the lake; one result per file, never raising for one bad file.

    ``files=None`` scans landing/marketing/; given files must be regular files inside it. ``log`` receives one line
    per file. Same bytes load once (other paths are recorded as aliases); nothing new means nothing written.
    """
    context = SpendContext.from_finance(config.finance)
    source = RowSource(
        parse=lambda path, label, _stage: parse_spend_file(path, label, context),
        rules=RowRules(scrub_raw_record=scrub_emails),
    )
    return ingest_files(MARKETING, paths, lambda: source, files=files, log=log)


__all__ = ["ingest_marketing"]
