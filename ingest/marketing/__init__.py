"""Ad spend exports (Google Ads UI/API, Meta Ads Manager, plain channel/date/spend CSV) -> marketing/spend."""
