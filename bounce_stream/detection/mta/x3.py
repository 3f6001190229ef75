"""An unnamed MTA Sisimai calls X3.

Layout: From "Mail Delivery System", Subject "Delivery status notification"; a block framed
by "=====" lines: "This is an automatically generated Delivery Status Notification.", a
sentence ("Delivery to the following recipients failed permanently:", or "Delevery [sic] to
the following recipients was aborted after 5.0 hour(s):"), each recipient as ``  * a@b``;
then "Technical details:" with lines such as ``SMTP:RCPT host mx.example.org: 550 ...``,
``Routing: Could not find a gateway for a@b`` or ``Diagnostic-Code: smtp; 550 ...``.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce

_SMTP_STAGE = re.compile(r"(?i)\bsmtp:(ehlo|helo|mail|rcpt|data)\b")


class X3(TextBounce):
    """X3 "automatically generated Delivery Status Notification" reports."""

    name = "x3"
    keywords = ("automatically",)
    # The "=====" frame tells it from Gmail's old notices, which open with the same sentence.
    signature = re.compile(
        r"(?i)=[ \t]*\n\s*this\s+is\s+an\s+automatically\s+generated\s+delivery\s+status\s+"
        r"notification"
    )
    start = re.compile(
        r"(?i)automatically\s+generated\s+delivery\s+status\s+notification\.?[^\n]*\n"
    )

    def evidence(self, ctx: Context, address: str, diagnostic: str) -> Evidence:
        item = super().evidence(ctx, address, diagnostic)
        stage = _SMTP_STAGE.search(diagnostic)
        if stage is not None:
            verb = stage.group(1).upper()
            item.smtp_command = "EHLO" if verb == "HELO" else verb
        return item
