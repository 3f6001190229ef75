"""What a detector reports for one recipient, before the reason is decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bounce_stream.detection.reasons import Reason


@dataclass(slots=True)
class Evidence:
    """Raw per-recipient facts read from a bounce; ``reason`` only when the format says it."""

    recipient: str
    diagnostic: str = ""
    status: str | None = None
    reply_code: str | None = None
    action: str | None = None
    diagnostic_type: str | None = None
    remote_mta: str | None = None
    reporting_mta: str | None = None
    smtp_command: str | None = None
    feedback_type: str | None = None
    arrival_date: datetime | None = None
    reason: Reason | None = None
    # What the MTA's own fixed sentence means; weaker than a specific text or status.
    hint: Reason | None = None
    # The report says the MTA gave up retrying (bounce_stream.detection.gaveup).
    gave_up: bool = False
