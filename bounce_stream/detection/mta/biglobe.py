"""BIGLOBE (a Japanese ISP; also its hosted domains inacatv, tmtv, ttv).

Layout: Subject "Returned mail: ...", from ``postmaster@biglobe.ne.jp``; the addresses under
"----- The following addresses had delivery problems -----", then the reason under
"----- Non-delivered information -----" (e.g. "The number of messages in recipient's
mailbox exceeded the local limit."), then the original as message/rfc822. The separator
lines look like sendmail's, so this detector runs before the sendmail one.
"""

from __future__ import annotations

import re

from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason


class Biglobe(TextBounce):
    """BIGLOBE "Non-delivered information" reports."""

    name = "biglobe"
    keywords = ("non-delivered",)
    signature = re.compile(
        r"(?is)-\s*the\s+following\s+addresses\s+had\s+delivery\s+problems\s*-.*"
        r"-\s*non-delivered\s+information\s*-"
    )
    start = re.compile(r"(?i)-\s*the\s+following\s+addresses\s+had\s+delivery\s+problems\s*-+")
    messages = (
        (
            "the number of messages in recipient's mailbox exceeded the local limit",
            Reason.MAILBOXFULL,
        ),
    )
