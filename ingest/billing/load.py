"""Ingest Stripe exports: landing/billing/** -> lake/_pending/billing/<entity>/<sha256>.parquet (+ quarantine,
manifest), on the shared loop of ingest/common/loop.py.

Customer files load first in a run, so invoices landed alongside them find their customers; customers already in
the lake (promoted or pending) count as known too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.config import PipelineConfig
from core.settings import Paths
from ingest.billing import contract
from ingest.billing.stripe import BillingContext, StripeFile, is_customer_file, parse_stripe_file
from ingest.common.loop import SourceSpec, ingest_files, read_lake_column, sniff_text
from ingest.common.report import IngestReport
from ingest.common.row_writer import ParsedRows, RowRules, RowSource
from ingest.common.text import scrub_emails

PARSER_VERSION = "billing-1"
SOURCE = contract.SOURCE
BILLING = SourceSpec(SOURCE, PARSER_VERSION, contract.ENTITIES, contract.QUARANTINE_COLUMNS)


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

    def start() -> RowSource:
        context = billing_context(paths, config)  # read under the lock, after a killed run's leftovers are gone

        def learn(parsed: ParsedRows, _label: str) -> None:
            if not isinstance(parsed, StripeFile):  # parse below makes nothing else
                raise TypeError(f"billing parser returned {type(parsed).__name__}, not StripeFile")
            context.known_customers.update(parsed.customer_ids)

        return RowSource(
            parse=lambda path, label, stage: parse_stripe_file(path, label, context, stage),
            rules=RowRules(scrub_raw_record=scrub_emails),
            order=lambda path: 0 if is_customer_file(sniff_text(paths, SOURCE, path)) else 1,
            learn=learn,
        )

    return ingest_files(BILLING, paths, start, files=files, log=log)


__all__ = ["ingest_billing"]
