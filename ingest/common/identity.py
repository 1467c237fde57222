"""Identity keys shared by every source: respondents, billing customers and product users join on these.

Raw emails never leave ingest: only this normalised hash reaches the lake, so no mart can expose one.
An account (a customer company) is keyed by its email domain in every source, so that the same company counts once
whichever vendor its request came through.
"""

from __future__ import annotations

import hashlib

EMAIL_HASH_SQL = "sha256(lower(trim({column})))"  # the same normalisation, for DuckDB-side hashing


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str | None) -> str | None:
    """sha256 hex of the trimmed, lower-cased address; None for a missing or blank one."""
    if email is None or not email.strip():
        return None
    return hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()


def account_domain(domain: str | None) -> str | None:
    """The account key of a company domain: trimmed, lower-cased, without a trailing dot; None for a blank one."""
    if domain is None:
        return None
    key = domain.strip().lower().rstrip(".")
    return key or None
