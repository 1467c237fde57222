"""Billing exports (Stripe dashboard CSVs and API JSON lists) -> billing/* lake tables."""

from ingest.billing.load import ingest_billing
from ingest.billing.stripe import parse_stripe_file

__all__ = ["ingest_billing", "parse_stripe_file"]
