"""Ipswitch IMail Server.

Layout: one sentence per failure, the address after a colon ("User mailbox exceeds allowed
size: a@b", "Invalid final delivery userid: a@b", "Unknown user: a@b"), then
"Original message follows." The SMTP stage is named in fixed phrases ("Server response to
MAIL FROM:", "Additional RCPT TO generated following response:").
"""

from __future__ import annotations

import re

from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason


class IMail(TextBounce):
    """IMail "Undeliverable Mail" reports."""

    name = "imail"
    keywords = ("unknown", "userid", "exceeds", "attempts")
    # [^\s] rather than \S, which reads the same: a lower-case pattern can run case-sensitively
    # on the lower-cased probe (see TextBounce).
    signature = re.compile(
        r"(?im)^(?:unknown\s+user|invalid\s+final\s+delivery\s+userid|user\s+mailbox\s+exceeds"
        r"\s+allowed\s+size|unknown\s+host|delivery\s+failed\s+\d+\s+attempts)[^:\n]*:\s*[^\s]+@"
    )
    messages = (
        ("unknown host", Reason.HOSTUNKNOWN),
        ("unknown user", Reason.USERUNKNOWN),
        ("invalid final delivery userid", Reason.USERUNKNOWN),
        ("user mailbox exceeds allowed size", Reason.MAILBOXFULL),
        ("requested action not taken: virus detected", Reason.VIRUSDETECTED),
        ("delivery failed ", Reason.EXPIRED),
    )
