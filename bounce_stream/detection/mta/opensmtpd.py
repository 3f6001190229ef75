"""OpenSMTPD delivery status notifications.

Layout: "This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail." then
"An error has occurred while attempting to deliver a message for the following list of
recipients:" and one line per recipient, ``a@b: 550 5.1.1 ... reply``; then
"Below is a copy of the original message:". Newer versions add a message/delivery-status
part whose Status is a placeholder (4.4.7 for every expiry, 5.0.0 otherwise), so this
detector runs before the RFC 3464 one and reads the per-recipient lines instead. Delay
notices ("only a temporary failure report") are reported like expiries.
"""

from __future__ import annotations

import re

from bounce_stream.detection.mta.textbounce import TextBounce


class OpenSmtpd(TextBounce):
    """OpenSMTPD text reports."""

    name = "opensmtpd"
    keywords = ("mailer-daemon", "opensmtpd")
    signature = re.compile(
        r"(?i)this\s+is\s+the\s+mailer-daemon,\s+please\s+do\s+not\s+reply|\(opensmtpd\)"
    )
    start = re.compile(r"(?i)(?:list\s+of\s+recipients|following\s+recipients?)[^\n]*\n")
