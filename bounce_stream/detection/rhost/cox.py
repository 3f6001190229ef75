"""Cox Communications and Charter/Spectrum: ``AUP#`` policy codes in the SMTP reply.

Cox: ``AUP#CXBL`` (IP blocked), ``AUP#CXCNCT`` (too many connections), ``IPBLnnnn``
(DNSBL listings), ``URLBLnnn`` (URL in body listed). Spectrum: ``AUP#1xxx`` numbers in
documented ranges. Codes: Cox's and Spectrum's published error-code pages; Cox's
sentences: Sisimai 5's table (``detection/data``).
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules, phrase_rows

COX = ProviderRules(
    name="cox",
    hosts=re.compile(r"(?i)cox\.(?:net|com)\b"),  # cox.com: its error-code pages
    code=re.compile(r"AUP#([0-9A-Z]+)"),
    codes={
        "CXBL": Reason.BLOCKED,
        "CDRBL": Reason.BLOCKED,
        "CXDNS": Reason.REQUIREPTR,
        "CXTHRT": Reason.SECURITYERROR,
        "CXMJ": Reason.SECURITYERROR,
        "CXSNDR": Reason.REJECTED,
        "CXSMTP": Reason.REJECTED,
        "CXCNCT": Reason.TOOMANYCONN,
        "CXMXRT": Reason.TOOMANYCONN,
        "IPBL0001": Reason.BLOCKED,
        "IPBL0010": Reason.BLOCKED,
        "IPBL0100": Reason.BLOCKED,
        "IPBL1000": Reason.BLOCKED,
        "IPBL00001": Reason.BLOCKED,
        "URLBL011": Reason.SPAMDETECTED,
        "URLBL101": Reason.SPAMDETECTED,
        "URLBL110": Reason.SPAMDETECTED,
        "URLBL1001": Reason.SPAMDETECTED,
    },
    phrases=phrase_rows("cox"),
)

_SPECTRUM_RANGES = (
    (1000, 1000, Reason.BLOCKED),
    (1010, 1080, Reason.REJECTED),
    (1090, 1090, Reason.SYSTEMERROR),
    (1100, 1150, Reason.BLOCKED),
    (1160, 1190, Reason.POLICYVIOLATION),
    (1200, 1250, Reason.BLOCKED),
    (1260, 1260, Reason.NETWORKERROR),
    (1300, 1490, Reason.TOOMANYCONN),
    (1500, 1520, Reason.REJECTED),
    (1530, 1530, Reason.MESGTOOBIG),
    (1540, 1550, Reason.TOOMANYCONN),
    (1560, 1560, Reason.POLICYVIOLATION),
)
_AUP_NUMBER = re.compile(r"AUP#[-A-Za-z]*(\d{4})")


class Spectrum:
    """Charter Spectrum: numeric AUP codes, classified by documented ranges."""

    name = "spectrum"
    hosts = re.compile(r"(?i)(?:charter\.net|spectrum\.net|rr\.com)\b")

    def serves(self, hosts: str) -> bool:
        return self.hosts.search(hosts) is not None

    def reason(self, text: str, status: str | None, command: str | None) -> Reason | None:
        found = _AUP_NUMBER.search(text)
        if found is None:
            return Reason.TOOMANYCONN if "spectrum.net/support" in text.lower() else None
        number = int(found.group(1))
        for low, high, reason in _SPECTRUM_RANGES:
            if low <= number <= high:
                return reason
        return None
