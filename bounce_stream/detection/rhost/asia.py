"""Asian consumer providers: Tencent QQ Mail, NTT docomo and KDDI (au / EZweb).

QQ Mail answers with short English phrases ("Ip frequency limited", "Mailbox not found").
docomo's mfsmax gateways answer 550 "Unknown user" both for missing mailboxes (at RCPT)
and for the receiver's own domain filter (after DATA), so the command decides. KDDI's
gateways answer "550 : User unknown" for their domain filter and "<addr>: User unknown" for
a missing mailbox. Sentences are Sisimai 5's tables (``detection/data``).
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules, phrase_rows

TENCENT = ProviderRules(
    name="tencent",
    hosts=re.compile(r"(?i)(?:\bqq\.com|exmail\.qq\.com|foxmail\.com)\b"),
    phrases=phrase_rows("tencent"),
)

KDDI = ProviderRules(
    name="kddi",
    hosts=re.compile(r"(?i)(?:ezweb\.ne\.jp|\bau\.com)\b"),
    phrases=phrase_rows("kddi"),
)

_DOCOMO_PHRASES = phrase_rows("nttdocomo")


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
        for phrase, reason in _DOCOMO_PHRASES:
            if phrase in lowered:
                return reason
        if status == "5.0.0" and command in ("RCPT", "DATA"):
            return Reason.USERUNKNOWN if command == "RCPT" else Reason.REJECTED
        return None
