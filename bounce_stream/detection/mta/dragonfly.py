"""DragonFly Mail Agent (dma), the BSD base-system MTA.

Layout: "This is the DragonFly Mail Agent v0.13 at host." then
"There was an error delivering your mail to <a@b>." and one paragraph with the remote
reply ("host [ip] did not like our RCPT TO: 550 5.1.1 ..."), then "Message headers follow."
One recipient per bounce.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.textutil import squeeze

_RECIPIENT = re.compile(
    r"(?i)error\s+delivering\s+your\s+mail\s+to\s+<?([^>\s]+@[^>\s]+?)>?\.?\s*\n"
)


class DragonFly(TextBounce):
    """dma bounces."""

    name = "dragonfly"
    keywords = ("dragonfly", "delivering")
    signature = re.compile(
        r"(?i)dragonfly\s+mail\s+agent|there\s+was\s+an\s+error\s+delivering\s+your\s+mail\s+to"
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        text = ctx.report_text
        found = _RECIPIENT.search(text)
        if found is None:
            return []
        address = first_address(found.group(1))
        if address is None:
            return []
        rest = text[found.end() :].strip("\n")
        diagnostic = squeeze(rest.split("\n\n", 1)[0] if rest else "")
        return [self.evidence(ctx, address, diagnostic)]
