"""MailFoundry (a spam-filtering gateway appliance).

Layout: Subject "Message delivery has failed", then per failure "Unable to deliver message
to: <a@b>", "Delivery failed for the following reason:" and the remote reply ("Server
mx.example.org[192.0.2.1] failed with: 550 <a@b> No such user here"), "This has been a
permanent failure.  No further delivery attempts will be made.", then the original message
as message/rfc822. The reply quotes no SMTP command.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.textutil import squeeze

# One failure: the address, then the reason paragraph (up to the next failure or the end).
_FAILURE = re.compile(
    r"(?is)unable\s+to\s+deliver\s+message\s+to:\s*<?([^>\s]+@[^>\s]+?)>?\s*\n"
    r"(.*?)(?=unable\s+to\s+deliver\s+message\s+to:|\Z)"
)
# "(?<!\s)\s*+": white space is entered only where it starts and taken whole, so the search
# does not rescan a long blank run from each of its characters (the same matches as "\s*").
_REASON_HEAD = re.compile(r"(?i)(?<!\s)\s*+delivery\s+failed\s+for\s+the\s+following\s+reason:\s*+")
_SERVER = re.compile(r"(?i)server\s+([a-z0-9][-a-z0-9.]*[a-z0-9])\s*\[[0-9a-f.:]+\]\s+failed")


class MailFoundry(TextBounce):
    """MailFoundry "Message delivery has failed" reports."""

    name = "mailfoundry"
    keywords = ("deliver",)
    signature = re.compile(
        r"(?is)unable\s+to\s+deliver\s+message\s+to:[^\n]*\n\s*"
        r"delivery\s+failed\s+for\s+the\s+following\s+reason:"
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        found: list[Evidence] = []
        for failure in _FAILURE.finditer(ctx.report_text[:100_000]):
            address = first_address(failure.group(1))
            if address is None:
                continue
            reason = _REASON_HEAD.sub("", failure.group(2), count=1)
            item = self.evidence(ctx, address, squeeze(reason)[:2000])
            server = _SERVER.search(reason)
            if server is not None:
                item.remote_mta = server.group(1).lower()
            found.append(item)
        return found
