"""Postfix text notices that are not DSNs.

Postfix's SMTP server mails the postmaster "Postfix SMTP server: errors from host[ip]"
with the session transcript (`` In:  RCPT TO:<a@b>`` / `` Out: 451 4.3.0 Error: queue
file write error``). The failed recipients are those of the RCPT TO lines and the error is
the last 4xx/5xx reply. Ordinary Postfix bounces are DSNs and handled by the RFC 3464
detector.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.mta.textbounce import TextBounce

_RCPT = re.compile(r"(?im)^[^\S\n]*+in:\s+rcpt\s+to:\s*<?([^>\s]+@[^>\s]+)>?")
_REPLY = re.compile(r"(?im)^[^\S\n]*+out:\s+([45]\d\d[ -][^\n]*)")
_COMMAND = re.compile(r"(?im)^[^\S\n]*+in:\s+([a-z]+)")


class PostfixNotice(TextBounce):
    """Postfix "SMTP server: errors from" postmaster notices."""

    name = "postfix"
    keywords = ("postfix",)
    signature = re.compile(r"(?i)postfix\s+smtp\s+server:\s+errors\s+from")

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        text = ctx.body_text
        replies = _REPLY.findall(text)
        diagnostic = replies[-1].strip() if replies else ""
        command = _last_command_before_error(text)
        found: list[Evidence] = []
        for raw in dict.fromkeys(_RCPT.findall(text)):
            address = first_address(raw)
            if address:
                item = self.evidence(ctx, address, diagnostic)
                item.smtp_command = command
                found.append(item)
        return found


def _last_command_before_error(text: str) -> str | None:
    errors = list(_REPLY.finditer(text))
    if not errors:
        return None
    commands = _COMMAND.findall(text[: errors[-1].start()])
    return commands[-1].upper() if commands else None
