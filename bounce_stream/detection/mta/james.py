"""Apache James (and the carrier gateways built on it, e.g. Verizon's vtext.com).

Layout: "Error: Invalid user address", then "Error message below:" followed by the remote
reply ("550 - Requested action not taken: no such user here"), then "Message details:"
listing ``MAIL FROM:`` and ``RCPT TO:`` of the failed transaction; the recipient is the
``RCPT TO:`` address. Often sent with a Content-Type whose parameters lost their folding.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.textutil import squeeze

_ERROR = re.compile(r"(?is)error\s+message\s+below:\s*(.*?)(?:message\s+details:|$)")
# Blanks before "rcpt" stay on its line: "^\s*" from every line start of a run of empty
# lines rescanned the run (quadratic); the captured address is the same.
_RCPT = re.compile(r"(?im)^[^\S\n]*+rcpt\s+to:\s*<?([^>\s]+@[^>\s]+)>?")


class ApacheJames(TextBounce):
    """James "Error message below / Message details" reports."""

    name = "james"
    keywords = ("details",)
    signature = re.compile(r"(?is)error\s+message\s+below:.*message\s+details:")

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        text = ctx.report_text
        error = _ERROR.search(text)
        diagnostic = squeeze(error.group(1))[:2000] if error else ""
        addresses = [first_address(raw) for raw in _RCPT.findall(text)]
        unique = dict.fromkeys(address for address in addresses if address)
        return [self.evidence(ctx, address, diagnostic) for address in unique]
