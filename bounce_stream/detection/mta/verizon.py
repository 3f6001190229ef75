"""Verizon Wireless e-mail to SMS/MMS gateways (vtext.com, vzwpix.com).

Two layouts: the SMS gateway is an Apache James deployment ("Error message below:" /
"Message details:" with ``RCPT TO:``); the MMS gateway writes "Message could not be
delivered to mobile." and "Error: No valid recipients for this MM" and returns the
original message after "Original Message:", whose To: is the failed number. Both mean the
number has no messaging service: an unknown recipient.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.james import ApacheJames
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason

_VERIZON = re.compile(r"(?i)@[\w.-]*(?:vtext\.com|vzwpix\.com|vzw\.com)\b")


class Verizon(TextBounce):
    """Verizon Wireless SMS/MMS gateway bounces."""

    name = "verizon"
    single_original_recipient = True
    messages = (
        ("no valid recipients for this mm", Reason.USERUNKNOWN),
        ("no such user here", Reason.USERUNKNOWN),
        ("invalid user address", Reason.USERUNKNOWN),
    )

    def claims(self, ctx: Context) -> bool:
        return _VERIZON.search(ctx.sender) is not None

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        found = ApacheJames().detect(ctx) if ApacheJames().claims(ctx) else None
        found = found or super().detect(ctx) or []
        for item in found:
            item.hint = self.hint(ctx.report_text[:2000])
        return found
