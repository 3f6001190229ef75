"""Microsoft (Outlook.com, Hotmail, Exchange Online Protection) and Exchange Server.

Exchange Online writes its own enhanced codes (5.7.509 DMARC, 5.7.606-608 banned IP,
4.7.650 reputation throttling, 5.4.1 directory-based edge blocking) and Outlook.com answers
unknown recipients with the bare RFC 5321 text "Requested action not taken: mailbox
unavailable".
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules

# Exchange Server names its categorizer/queue errors itself, on premises or in the cloud.
EXCHANGE = ProviderRules(
    name="exchange",
    hosts=re.compile(r"."),
    code=re.compile(r"\b((?:RESOLVER|QUEUE|SMTPSEND)\.[A-Za-z]+\.[A-Za-z]+)"),
    code_words=("RESOLVER.", "QUEUE.", "SMTPSEND."),  # tried on every diagnostic
    codes={
        "SMTPSEND.DNS.NONEXISTENTDOMAIN": Reason.HOSTUNKNOWN,
        "SMTPSEND.DNS.MXLOOPBACK": Reason.NETWORKERROR,
        "RESOLVER.ADR.BADPRIMARY": Reason.SYSTEMERROR,
        "RESOLVER.ADR.RECIPNOTFOUND": Reason.USERUNKNOWN,
        "RESOLVER.ADR.EXRECIPNOTFOUND": Reason.USERUNKNOWN,
        "RESOLVER.ADR.RECIPLIMIT": Reason.TOOMANYCONN,
        "RESOLVER.ADR.INVALIDINSMTP": Reason.SYSTEMERROR,
        "RESOLVER.ADR.AMBIGUOUS": Reason.SYSTEMERROR,
        "RESOLVER.RST.AUTHREQUIRED": Reason.SECURITYERROR,
        "RESOLVER.RST.NOTAUTHORIZED": Reason.REJECTED,
        "RESOLVER.RST.RECIPSIZELIMIT": Reason.MESGTOOBIG,
        "QUEUE.EXPIRED": Reason.EXPIRED,
    },
)

MICROSOFT = ProviderRules(
    name="microsoft",
    hosts=re.compile(r"(?i)(?:outlook\.com|hotmail\.com|live\.com|msn\.com)\b"),
    # ``[45](?<![\d.][45])`` is ``(?<![\d.])[45]``, searched faster (see statuscodes).
    code=re.compile(r"([45](?<![\d.][45])\.\d\.\d{1,3})(?![\d.])"),
    codes={
        "4.4.312": Reason.NETWORKERROR,
        "4.4.316": Reason.EXPIRED,
        "5.0.350": Reason.CONTENTERROR,
        "5.1.10": Reason.USERUNKNOWN,
        "5.4.6": Reason.NETWORKERROR,
        "5.4.312": Reason.NETWORKERROR,
        "5.6.11": Reason.CONTENTERROR,
        "5.7.501": Reason.SPAMDETECTED,
        "5.7.502": Reason.SPAMDETECTED,
        "5.7.503": Reason.SPAMDETECTED,
        "5.7.504": Reason.FILTERED,
        "5.7.505": Reason.FILTERED,
        "5.7.506": Reason.BLOCKED,
        "5.7.507": Reason.BLOCKED,
        "5.7.508": Reason.TOOMANYCONN,
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
