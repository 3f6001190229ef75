"""Gmail (legacy text bounces) and Google Groups.

Gmail before DSNs: "Delivery to the following recipient failed permanently:" then the
indented address, then "Technical details of permanent failure:" and the remote reply
("The error that the other server returned was: 550 5.1.1 ..."). Temporary failures say
"Delivery to the following recipient has been delayed". Google Groups answers a post the
group rejected (no such group / no permission): the sender is the one refused.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.textutil import squeeze

_DETAILS = re.compile(r"(?is)technical\s+details\s+of\s+(?:permanent|temporary)\s+failure:\s*(.+)")


class Gmail(TextBounce):
    """Legacy Gmail bounces."""

    name = "gmail"
    signature = re.compile(
        r"(?i)delivery\s+to\s+the\s+following\s+recipients?\s+(?:failed|has\s+been\s+delayed)"
    )
    start = re.compile(r"(?i)delivery\s+to\s+the\s+following\s+recipients?[^\n]*\n")
    end = re.compile(r"(?i)technical\s+details")
    strict_lines = True

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        details = _DETAILS.search(ctx.report_text)
        delayed = re.search(r"(?i)has\s+been\s+delayed", ctx.report_text[:2000]) is not None
        for item in found or []:
            if details:
                item.diagnostic = squeeze(details.group(1))[:2000]
                item.reply_code = self.evidence(ctx, item.recipient, item.diagnostic).reply_code
            if delayed:
                item.action = "delayed"
        return found


class GoogleGroups(TextBounce):
    """Google Groups refusals of a post."""

    name = "googlegroups"
    signature = re.compile(r"(?i)google\s+groups|groups\.google\.com")

    def claims(self, ctx: Context) -> bool:
        sender = ctx.sender.lower()
        return super().claims(ctx) and ("googlemail.com" in sender or "google.com" in sender)

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        targets = [
            address.strip().lower()
            for value in ctx.headers.get_all("x-failed-recipients")
            for address in value.split(",")
            if "@" in address
        ]
        diagnostic = squeeze(ctx.report_text)[:2000]
        return [
            Evidence(recipient=address, diagnostic=diagnostic, reason=Reason.REJECTED)
            for address in dict.fromkeys(targets)
        ]
