"""Dates as bounces write them (RFC 5322 and the usual deviations)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

# The usual form, "Thu, 29 Apr 2010 23:34:45 +0900 (JST)", read directly: what
# parsedate_to_datetime (pure Python, and slow) makes of it is spelt out in _common_date.
_COMMON_DATE = re.compile(
    r"(?:[A-Za-z]+, +)?([0-9]{1,2}) ([A-Za-z]{3}) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})(?!\S)"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def parse_date(value: str | None) -> datetime | None:
    """Parse an RFC 5322 date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()[:200]
    try:
        common = _COMMON_DATE.match(text)
        if common is not None and common.group(2).lower() in _MONTHS:
            return _common_date(common)
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _common_date(found: re.Match[str]) -> datetime:
    """What ``email.utils.parsedate_to_datetime`` returns for a ``_COMMON_DATE`` match: a day
    name ending in a comma is skipped, like anything after the zone; years below 100 are
    1969-2068; "-0000" (unknown zone) gives a naive datetime, any other offset an aware one."""
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = found.groups()
    full_year = int(year)
    if full_year < 100:
        full_year += 1900 if full_year > 68 else 2000
    offset = int(zone_hours) * 3600 + int(zone_minutes) * 60
    if sign == "-":
        offset = -offset
    # Positional arguments: parsing keywords would cost about as much as the rest.
    zone = None if offset == 0 and sign == "-" else timezone(timedelta(0, offset))
    return datetime(
        full_year, _MONTHS[month.lower()], int(day), int(hour), int(minute), int(second), 0, zone
    )
