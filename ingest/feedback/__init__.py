"""Customer feedback exports (NPS/CSAT surveys, feature requests, Kano questionnaires) -> feedback/* lake tables."""
