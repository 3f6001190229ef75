"""Japanese carrier au by KDDI (ezweb.ne.jp, au.com, dion.ne.jp) gateways.

EZweb writes a Japanese explanation, then English sentences and the recipient on its own
line ("Recipient: <a@b>" with the session ``>>> RCPT TO:`` / ``<<< 550 ...``), or just
``<a@b>``. A refusal at RCPT is an unknown user; otherwise the English sentence decides
("The user(s) account is disabled." = suspended, "...temporarily over quota" = full,
"Your message was not delivered within ..." = expired). ``X-SPASIGN: NG`` marks au's spam
filter. The older KDDI gateway writes "Could not be delivered to: <a@b>" followed by
"As their mailbox is full."
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.smtp import find_command
from bounce_stream.detection.textutil import squeeze


class Au(TextBounce):
    """ezweb.ne.jp / KDDI bounce texts."""

    name = "au"
    keywords = ("ezweb", "dion", "au.com", "delivered")
    signature = re.compile(
        r"(?i)ezweb\.ne\.jp|\.dion\.ne\.jp|@au\.com|could\s+not\s+be\s+delivered\s+to:"
    )
    messages = (
        ("account is temporarily over quota", Reason.MAILBOXFULL),
        ("as their mailbox is full", Reason.MAILBOXFULL),
        ("account is disabled", Reason.SUSPEND),
        ("account is temporarily limited", Reason.SUSPEND),
        ("your message was not delivered within ", Reason.EXPIRED),
        ("due to the following smtp relay error", Reason.NORELAYING),
        ("as the remote domain doesnt exist", Reason.HOSTUNKNOWN),
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        if not found:
            return found
        section = self.section(ctx)
        whole = squeeze(section)[:2000]
        command = find_command(section)
        spam = (ctx.headers.get("x-spasign") or "").strip().upper() == "NG"
        for item in found:
            item.diagnostic = whole
            item.smtp_command = command
            item.hint = self.hint(whole)
            if spam:
                item.reason = Reason.FILTERED
            elif command == "RCPT":
                item.reason = Reason.USERUNKNOWN
        return found
