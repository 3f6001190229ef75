"""An unnamed MTA Sisimai calls X6.

Layout: Subject "There was an error sending your mail"; "N error(s):" then one line per
failure naming the recipient in angle brackets and the command that failed ("SMTP Server
<mx> rejected recipient <a@b> (Error following RCPT command). It responded as follows:
[550 5.1.1 User unknown]"); then "The attachment contains the original mail headers".
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.textutil import squeeze

_ERRORS = re.compile(r"(?im)^\s*\d+\s*error\(s\):")
# A failure line: the recipient in angle brackets (the remote server's name may be too).
_FAILURE = re.compile(
    r"(?im)^[^\n]*?recipient\s+<([^>\s]+@[^>\s]+)>[^\n]*(?:\n(?![ \t]*\n)[^\n]*)*"
)
_COMMAND = re.compile(r"(?i)error\s+following\s+(ehlo|helo|mail|rcpt|data)\s+command")


class X6(TextBounce):
    """X6 "There was an error sending your mail" reports."""

    name = "x6"
    keywords = ("error(s):",)
    signature = re.compile(r"(?im)^\s*\d+\s*error\(s\):")

    def claims(self, ctx: Context) -> bool:
        return "there was an error sending your mail" in ctx.subject.lower() and super().claims(ctx)

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        text = ctx.report_text[:100_000]
        errors = _ERRORS.search(text)
        found: dict[str, Evidence] = {}
        for failure in _FAILURE.finditer(text, errors.end() if errors else 0):
            address = failure.group(1).lower()
            if address in found:
                continue
            item = self.evidence(ctx, address, squeeze(failure.group(0))[:2000])
            command = _COMMAND.search(failure.group(0))
            if command is not None:
                verb = command.group(1).upper()
                item.smtp_command = "EHLO" if verb == "HELO" else verb
            found[address] = item
        return list(found.values())
