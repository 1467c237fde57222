"""Customer feedback exports (NPS/CSAT surveys, feature requests, Kano questionnaires) -> feedback/* lake tables."""

from ingest.feedback.detect import parse_feedback_file
from ingest.feedback.load import ingest_feedback

__all__ = ["ingest_feedback", "parse_feedback_file"]
