"""Ingest Stripe exports: landing/billing/** -> lake/_pending/billing/<entity>/<sha256>.parquet (+ quarantine,
manifest), through the shared loop of ingest/common/entity_ingest.py (the Jira ingest's manifest, pending writes,
schema anchors and idempotency).

Customer files load first in a run, so invoices landed alongside them find their customers; customers already in
the lake (promoted or pending) count as known too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.config import PipelineConfig
from core.settings import Paths
from ingest.billing import contract
from ingest.billing.stripe import BillingContext, is_customer_file, parse_stripe_file
from ingest.common.entity_ingest import EntitySource, ParsedFile, ingest_entity_files, read_lake_column, sniff_text
from ingest.common.report import IngestReport

PARSER_VERSION = "billing-1"
SOURCE = contract.SOURCE
BILLING = EntitySource(SOURCE, PARSER_VERSION, contract.ENTITIES, contract.QUARANTINE_COLUMNS)


def billing_context(paths: Paths, config: PipelineConfig) -> BillingContext:
    known = {c for c in read_lake_column(paths, SOURCE, "customers", "customer_id") if c}
    return BillingContext(fx_currencies=frozenset(config.finance.fx_rates), known_customers=known)


def ingest_billing(
    paths: Paths,
    config: PipelineConfig,
    *,
    files: list[Path] | None = None,
    log: Callable[[str], None] | None = None,
) -> IngestReport:
    """Load new Stripe exports into the lake; one result per file, never raising for one bad file.

    ``files=None`` scans landing/billing/; given files must be regular files inside it. ``log`` receives one line
    per file. Same bytes load once (other paths are recorded as aliases); nothing new means nothing written.
    """
    context: BillingContext | None = None

    def parse(path: Path, label: str) -> ParsedFile:
        nonlocal context
        if context is None:  # read under the ingest lock, after a killed run's leftovers are gone
            context = billing_context(paths, config)
        return parse_stripe_file(path, label, context)

    def learn(parsed: ParsedFile) -> None:
        if context is not None:
            context.known_customers.update(row["customer_id"] for row in parsed.entities["customers"])

    return ingest_entity_files(
        BILLING,
        paths,
        parse=parse,
        files=files,
        log=log,
        load_order=lambda path: 0 if is_customer_file(sniff_text(paths, SOURCE, path)) else 1,
        learn=learn,
    )


__all__ = ["ingest_billing"]
