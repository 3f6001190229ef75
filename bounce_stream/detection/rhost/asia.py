"""Asian consumer providers: Tencent QQ Mail and NTT docomo.

QQ Mail answers with short English phrases ("Ip frequency limited", "Mailbox not found").
docomo's mfsmax gateways answer 550 "Unknown user" both for missing mailboxes (at RCPT)
and for the receiver's own domain filter (after DATA), so the command decides.
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules

TENCENT = ProviderRules(
    name="tencent",
    hosts=re.compile(r"(?i)(?:\bqq\.com|exmail\.qq\.com|foxmail\.com)\b"),
    phrases=(
        ("dmarc check failed", Reason.AUTHFAILURE),
        ("spf check failed", Reason.AUTHFAILURE),
        ("suspected spam ip", Reason.BLOCKED),
        ("mail is rejected by recipients", Reason.FILTERED),
        ("message too large", Reason.MESGTOOBIG),
        ("mail content denied", Reason.SPAMDETECTED),
        ("spam is embedded in the email", Reason.SPAMDETECTED),
        ("suspected spam", Reason.SPAMDETECTED),
        ("bad address syntax", Reason.SYNTAXERROR),
        ("connection denied", Reason.TOOMANYCONN),
        ("frequency limited", Reason.TOOMANYCONN),
        ("mailbox unavailable or access denied", Reason.TOOMANYCONN),
        ("mailbox not found", Reason.USERUNKNOWN),
    ),
)


class NttDocomo:
    """NTT docomo (docomo.ne.jp)."""

    name = "docomo"
    hosts = re.compile(r"(?i)docomo\.ne\.jp\b")

    def serves(self, hosts: str) -> bool:
        return self.hosts.search(hosts) is not None

    def reason(self, text: str, status: str | None, command: str | None) -> Reason | None:
        lowered = text.lower()
        if status in ("5.1.1", "5.0.911"):
            return Reason.USERUNKNOWN
        if status == "5.2.0":
            return Reason.FILTERED
        if "552 too much mail data" in lowered:
            return Reason.MAILBOXFULL
        if "552 too many recipients" in lowered:
            return Reason.TOOMANYCONN
        if status == "5.0.0" and command in ("RCPT", "DATA"):
            return Reason.USERUNKNOWN if command == "RCPT" else Reason.REJECTED
        return None
