"""Digital Arts m-FILTER (a Japanese mail filtering gateway).

Layout: ``X-Mailer: m-FILTER``, Subject "failure notice", a Japanese introduction (ISO-2022-JP),
then the failed addresses one per line, then "-------server message" with the remote reply,
"-------SMTP command" with the command it answered (``RCPT``, ``DATA``), and
"-------original message" (or "-------original mail info") with the returned message.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import addresses_in
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.textutil import squeeze

_SECTIONS = re.compile(r"(?m)^-------(server message|smtp command|original (?:message|mail info))")
_COMMANDS = {"EHLO", "HELO", "MAIL", "RCPT", "DATA", "STARTTLS", "CONN"}


class MFilter(TextBounce):
    """m-FILTER "-------server message" reports."""

    name = "mfilter"
    keywords = ("-------server",)
    signature = re.compile(r"(?im)^-------server message\s*$")

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        text = ctx.body_text[:100_000]
        marks = list(_SECTIONS.finditer(text.lower()))
        if not marks:
            return []
        parts: dict[str, str] = {}
        for index, mark in enumerate(marks):
            end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
            parts.setdefault(mark.group(1), text[mark.end() : end])
        diagnostic = squeeze(parts.get("server message", ""))[:2000]
        verb = squeeze(parts.get("smtp command", "")).split(" ", 1)[0].upper()
        command = "EHLO" if verb == "HELO" else verb if verb in _COMMANDS else None
        found = []
        for address in dict.fromkeys(addresses_in(text[: marks[0].start()])):
            item = self.evidence(ctx, address, diagnostic)
            item.smtp_command = command or item.smtp_command
            found.append(item)
        return found
