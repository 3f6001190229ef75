"""OpenSMTPD delivery status notifications.

Layout: "This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail." then
"An error has occurred while attempting to deliver a message for the following list of
recipients:" and one line per recipient, ``a@b: 550 5.1.1 ... reply``; then
"Below is a copy of the original message:". Newer versions write the same as a DSN, which
the RFC 3464 detector reads first.
"""

from __future__ import annotations

import re

from bounce_stream.detection.mta.textbounce import TextBounce


class OpenSmtpd(TextBounce):
    """OpenSMTPD text reports."""

    name = "opensmtpd"
    signature = re.compile(
        r"(?i)this\s+is\s+the\s+mailer-daemon,\s+please\s+do\s+not\s+reply|\(opensmtpd\)"
    )
    start = re.compile(r"(?i)(?:list\s+of\s+recipients|following\s+recipients?)[^\n]*\n")
