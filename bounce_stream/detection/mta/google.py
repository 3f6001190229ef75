"""Gmail (legacy text bounces) and Google Groups.

Gmail before DSNs: "Delivery to the following recipient failed permanently:" then the
indented address, then "Technical details of permanent failure:" and the remote reply
("The error that the other server returned was: 550 5.1.1 ..."). Temporary failures say
"Delivery to the following recipient has been delayed". Google Groups answers a post the
group rejected (no such group / no permission): the sender is the one refused.
"""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.textutil import squeeze

_STATE = re.compile(r"\(state\s+(\d+)\)")
# The SMTP state Gmail's legacy bounces report as "(state N)": the command it failed at and
# what a failure there means (Sisimai 5's reading: state 6 is "Remote server does not support
# TLS" at MAIL, state 9 a TLS failure at AUTH). A hint only: a specific status or wording wins.
_STATES: dict[str, tuple[str, Reason]] = {
    "6": ("MAIL", Reason.FAILEDSTARTTLS),
    "8": ("AUTH", Reason.SYSTEMERROR),
    "9": ("AUTH", Reason.FAILEDSTARTTLS),
    "12": ("AUTH", Reason.NORELAYING),
    "13": ("EHLO", Reason.BLOCKED),
    "14": ("RCPT", Reason.USERUNKNOWN),
    "15": ("DATA", Reason.FILTERED),
    "17": ("DATA", Reason.FILTERED),
    "18": ("DATA", Reason.FILTERED),
}
_DELAYED = re.compile(r"(?i)has\s+been\s+delayed")
_DETAILS = re.compile(r"(?is)technical\s+details\s+of\s+(?:permanent|temporary)\s+failure:\s*(.+)")


class Gmail(TextBounce):
    """Legacy Gmail bounces."""

    name = "gmail"
    keywords = ("following",)
    signature = re.compile(
        r"(?i)delivery\s+to\s+the\s+following\s+recipients?\s+(?:failed|has\s+been\s+delayed)"
    )
    start = re.compile(r"(?i)delivery\s+to\s+the\s+following\s+recipients?[^\n]*\n")
    end = re.compile(r"(?i)technical\s+details")
    strict_lines = True
    messages = (
        ("dns error: could not contact dns servers", Reason.EXPIRED),
        ("delivery to the following recipient has been delayed", Reason.EXPIRED),
        ("the recipient server did not accept our requests to connect", Reason.EXPIRED),
        ("dns error: domain name not found", Reason.HOSTUNKNOWN),
        ("dns error: dns server returned answer with no data", Reason.HOSTUNKNOWN),
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        if not found:
            return found
        details = _DETAILS.search(ctx.report_text)
        delayed = _DELAYED.search(ctx.report_text[:2000]) is not None
        for item in found:
            if details:
                item.diagnostic = squeeze(details.group(1))[:2000]
                item.reply_code = statuscodes.find_reply_code(item.diagnostic)
                item.hint = self.hint(item.diagnostic)
            state = _STATE.search(item.diagnostic)
            if state and state.group(1) in _STATES:
                item.smtp_command, item.hint = _STATES[state.group(1)]
            if delayed:
                item.action = "delayed"
        return found


class GoogleGroups(TextBounce):
    """Google Groups refusals of a post."""

    name = "googlegroups"
    keywords = ("google",)
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
