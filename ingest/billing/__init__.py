"""Billing exports (Stripe dashboard CSVs and API JSON lists) -> billing/* lake tables."""
