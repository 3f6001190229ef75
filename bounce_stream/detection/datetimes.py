"""Dates as bounces write them (RFC 5322 and the usual deviations)."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime


def parse_date(value: str | None) -> datetime | None:
    """Parse an RFC 5322 date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value.strip()[:200])
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
