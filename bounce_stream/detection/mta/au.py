"""Japanese carriers: au by KDDI (ezweb.ne.jp, dion.ne.jp) and similar mobile gateways.

EZweb writes a Japanese explanation and the address in angle brackets on its own line,
sometimes with an English sentence such as "The user(s) account is disabled."; KDDI's
older gateway writes "Could not be delivered to: <a@b>" followed by "As their mailbox is
full." Both quote no SMTP reply, so the reason comes from those sentences.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.textutil import squeeze


class Au(TextBounce):
    """ezweb.ne.jp / KDDI bounce texts."""

    name = "au"
    signature = re.compile(
        r"(?i)ezweb\.ne\.jp|\.dion\.ne\.jp|au\.com|could\s+not\s+be\s+delivered\s+to:"
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        whole = squeeze(self.section(ctx))[:2000]
        for item in found or []:
            item.diagnostic = whole
        return found
