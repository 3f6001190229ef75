"""Exim and its white-labelled deployments (mail.ru, GMX/mail.com, MXLogic, ...).

Layout: "This message was created automatically by mail delivery software." then, after
"The following address(es) failed:", each address indented on its own line (GMX quotes it:
``"a@b":``; MXLogic puts the reply on the same line) followed by indented lines such as
"SMTP error from remote mail server after RCPT TO:<a@b>: host mx [ip]: 550 5.1.1 ...".
mail.ru repeats the report in Russian and English (duplicates are merged). Delay warnings
("has not yet been delivered") carry no failure, only a delay.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce

_DELAYED = re.compile(
    r"(?i)has\s+not\s+yet\s+been\s+delivered|delivery\s+to\s+the\s+following\s+address(?:\(es\)|es)?\s+has\s+been\s+delayed"
)


class Exim(TextBounce):
    """Exim "Mail delivery failed: returning message to sender"."""

    name = "exim"
    signature = re.compile(
        r"(?i)this\s+message\s+was\s+created\s+automatically\s+by\s+mail\s+delivery\s+software|"
        r"mail\.ru|a\s+message\s+that\s+you\s+(?:have\s+)?sent\s+could\s+not\s+be\s+delivered"
    )
    start = re.compile(
        r"(?i)(?:the\s+following\s+address(?:\(es\)|es)?\s+failed|could\s+not\s+be\s+delivered\s+to\s+one\s+or\s+more"
        r"(?:\s+of\s+its)?\s+recipients[^\n]*|has\s+not\s+yet\s+been\s+delivered[^\n]*|"
        r"следующим\s+получателям|одному\s+или\s+нескольким\s+получателям)[^\n]*\n"
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        if found and _DELAYED.search(ctx.report_text):
            for item in found:
                item.action = "delayed"
        return found
