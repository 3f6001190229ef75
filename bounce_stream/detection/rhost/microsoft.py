"""Microsoft (Outlook.com, Hotmail, Exchange Online Protection).

Exchange Online writes its own enhanced codes (5.7.509 DMARC, 5.7.606-608 banned IP,
4.7.650 reputation throttling, 5.4.1 directory-based edge blocking) and Outlook.com answers
unknown recipients with the bare RFC 5321 text "Requested action not taken: mailbox
unavailable".
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules

MICROSOFT = ProviderRules(
    name="microsoft",
    hosts=re.compile(r"(?i)(?:outlook\.com|hotmail\.com|live\.com|msn\.com)\b"),
    code=re.compile(r"\b([45]\.[47]\.\d{3})\b"),
    codes={
        "4.7.650": Reason.BADREPUTATION,
        "4.7.651": Reason.BADREPUTATION,
        "4.7.652": Reason.SPEEDING,
        "5.7.509": Reason.AUTHFAILURE,
        "5.7.510": Reason.AUTHFAILURE,
        "5.7.515": Reason.AUTHFAILURE,
        "5.7.606": Reason.BLOCKED,
        "5.7.607": Reason.BLOCKED,
        "5.7.608": Reason.BLOCKED,
        "5.7.708": Reason.BLOCKED,
        "5.4.310": Reason.HOSTUNKNOWN,
        "5.4.312": Reason.HOSTUNKNOWN,
        "5.4.316": Reason.EXPIRED,
    },
    phrases=(
        ("requested action not taken: mailbox unavailable", Reason.USERUNKNOWN),
        ("recipient address rejected: access denied", Reason.USERUNKNOWN),
        ("mailbox full", Reason.MAILBOXFULL),
        ("rate limited due to ip reputation", Reason.BADREPUTATION),
        ("banned sending ip", Reason.BLOCKED),
    ),
)
