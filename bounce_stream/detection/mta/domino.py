"""IBM/HCL Domino and Lotus Notes text reports.

Domino: "Your message ... was not delivered to: a@b because: <reason>"; the reason is the
only diagnostic. Lotus Notes SMTP MTA: "------- Failure Reasons --------" followed by the
reason (often localised) and the addresses, then "------- Returned Message --------".
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.textutil import squeeze

_BECAUSE = re.compile(r"(?is)\bbecause:\s*(.+?)(?:\n\s*\n|$)")


class Domino(TextBounce):
    """Domino "DELIVERY FAILURE" reports."""

    name = "domino"
    keywords = ("delivered",)
    signature = re.compile(r"(?i)was\s+not\s+delivered\s+to:")
    start = re.compile(r"(?i)was\s+not\s+delivered\s+to:[^\n]*\n")
    end = re.compile(r"(?im)^\s*because:")
    messages = (
        ("not listed in domino directory", Reason.USERUNKNOWN),
        ("not listed in public name & address book", Reason.USERUNKNOWN),
        ("no route found to domain", Reason.HOSTUNKNOWN),
        ("unable to deliver to", Reason.SYSTEMERROR),
        ("is not allowed to receive mail", Reason.FILTERED),
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        if not found:
            return found
        reason = _BECAUSE.search(ctx.report_text)
        for item in found:
            if reason:
                item.diagnostic = squeeze(reason.group(1))[:2000]
                item.hint = self.hint(item.diagnostic)
        return found


class Notes(TextBounce):
    """Lotus Notes SMTP MTA reports."""

    name = "notes"
    keywords = ("failure",)
    # "(?<!-)": a match starts where its run of dashes does, so a long run of dashes is not
    # rescanned from each of them (quadratic); the leftmost match is the same.
    signature = re.compile(r"(?i)(?<!-)-+\s*failure\s+reasons\s*-+")
    start = re.compile(r"(?i)(?<!-)-+\s*failure\s+reasons\s*-+[^\n]*\n")
    end = re.compile(r"(?i)(?<!-)-+\s*returned\s+message\s*-+")
    messages = (
        ("not listed in public name & address book", Reason.USERUNKNOWN),
        ("not listed in domino directory", Reason.USERUNKNOWN),
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        if not found:
            return found
        section = self.section(ctx)
        for item in found:
            item.diagnostic = squeeze(section)[:2000]
            item.hint = self.hint(item.diagnostic)
        return found
