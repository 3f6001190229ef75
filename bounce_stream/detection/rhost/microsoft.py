"""Microsoft (Outlook.com, Hotmail, Exchange Online Protection) and Exchange Server.

Exchange Online writes its own enhanced codes (5.7.509 DMARC, 5.7.606-649 banned IP,
4.7.650 reputation throttling, 5.4.1 directory-based edge blocking) and Outlook.com answers
unknown recipients with the bare RFC 5321 text "Requested action not taken: mailbox
unavailable". The Microsoft and Outlook tables are Sisimai 5's (``detection/data``): a
sentence decides (the one quoted with its own status first); Microsoft's own three-digit
status decides alone.
"""

from __future__ import annotations

import re

from bounce_stream.detection import data
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules, StatusRow, phrase_rows

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
        "RESOLVER.RST.RECIPSIZELIMIT": Reason.EXCEEDLIMIT,  # 5.2.3: the recipient's limit
        "QUEUE.EXPIRED": Reason.EXPIRED,
    },
)


def _status_rows() -> tuple[StatusRow, ...]:
    """Sisimai 5's Microsoft rows: (status or "x.y." prefix, range low, range high, sentence)."""
    rows: list[StatusRow] = []
    for reason, (status, low, high, phrase) in data.provider_rows("microsoft", 4):
        ranged = bool(low and high)
        rows.append(
            StatusRow(
                status=status,
                phrase=phrase.lower(),
                reason=reason,
                low=int(low) if ranged else -1,
                high=int(high) if ranged else -1,
            )
        )
    return tuple(rows)


MICROSOFT = ProviderRules(
    name="microsoft",
    hosts=re.compile(r"(?i)(?:outlook\.com|hotmail\.com|live\.com|msn\.com)\b"),
    # Microsoft's published NDR codes the table lacks (Outlook.com sender requirements).
    code=re.compile(r"([45](?<![\d.][45])\.\d\.\d{1,3})(?![\d.])"),
    codes={
        "4.7.651": Reason.BADREPUTATION,  # "temporarily rate limited due to IP reputation"
        "5.7.515": Reason.AUTHFAILURE,  # "doesn't meet the required authentication level"
    },
    status_rows=_status_rows(),
    specific_statuses=True,
    phrases=phrase_rows("outlook"),
)
