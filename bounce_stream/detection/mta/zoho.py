"""Zoho Mail text bounces.

Layout: Exim-like introduction ("This message was created automatically by mail delivery
software.") then one line per recipient: ``a@b Invalid Address, ERROR_CODE :550,
ERROR_CODE :5.1.1 <a@b>... User Unknown``; the returned message follows without a
separator. Delay warnings ("THIS IS A WARNING MESSAGE ONLY") list the address after
"Delay reason:" style lines.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import ADDRESS_RE, find_addresses
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.textutil import squeeze

_LINE = re.compile(
    r"(?m)^[ \t]*<?(" + ADDRESS_RE.pattern + r")>?[ \t]+(\S[^\n]*)$"
    r"|Address:\s*<?(" + ADDRESS_RE.pattern + r")>?,\s*([^\]\n]*)"
)
_ERROR_CODE = re.compile(r"ERROR_CODE\s*:\s*([245]\d\d)\b")
_RESPONSE_CODE = re.compile(r"ResponseCode\s+([245]\d\d)\b")
_WARNING = re.compile(r"(?i)this\s+is\s+a\s+warning\s+message\s+only")


class Zoho(TextBounce):
    """Zoho Mail bounces and delay warnings."""

    name = "zoho"
    signature = re.compile(r"(?i)@[\w.-]*zoho(?:mail)?\.(?:com|eu|in|jp)")
    messages = (("host not reachable", Reason.EXPIRED),)

    def claims(self, ctx: Context) -> bool:
        return self.signature.search(ctx.sender) is not None

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        text = ctx.report_text.split("\nReceived:", 1)[0]
        found = [
            self.evidence(
                ctx,
                (match.group(1) or match.group(3)).lower(),
                squeeze(match.group(2) or match.group(4) or ""),
            )
            for match in _LINE.finditer(text)
        ]
        for item in found:
            code = _ERROR_CODE.search(item.diagnostic) or _RESPONSE_CODE.search(item.diagnostic)
            item.reply_code = code.group(1) if code else item.reply_code
        if found or not _WARNING.search(text):
            if _WARNING.search(text):
                for item in found:
                    item.action = "delayed"
            return found
        original = ctx.original
        targets = find_addresses(original.get("to") or "") if original else []
        return [
            Evidence(recipient=address.lower(), diagnostic=squeeze(text)[:2000], action="delayed")
            for address in targets[:1]
        ]
