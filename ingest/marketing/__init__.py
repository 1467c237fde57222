"""Ad spend exports (Google Ads UI/API, Meta Ads Manager, plain channel/date/spend CSV) -> marketing/spend."""

from ingest.marketing.load import ingest_marketing
from ingest.marketing.spend import parse_spend_file

__all__ = ["ingest_marketing", "parse_spend_file"]
