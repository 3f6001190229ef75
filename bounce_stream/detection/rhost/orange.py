"""Orange / Wanadoo and La Poste (France): numbered codes OFRxxx_nnn, LPNxxx_nnn, OUK.

The last three digits are the error: 102/103/510 IP blocked, 104 too many connections,
416/418 unknown user, 417 mailbox full, 505 system error, 630 policy, and so on.
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules, phrase_rows

ORANGE = ProviderRules(
    name="orange",
    hosts=re.compile(r"(?i)(?:orange\.fr|wanadoo\.fr|laposte\.net)\b"),
    code=re.compile(r"(?i)\b(?:LPN|LPNAAA|OFR|OUK)(?:_|\d{3}[-_])(\d{3})\b"),
    codes={
        "101": Reason.BLOCKED,
        "102": Reason.BLOCKED,
        "103": Reason.BLOCKED,
        "104": Reason.TOOMANYCONN,
        "305": Reason.SECURITYERROR,
        "401": Reason.BLOCKED,
        "402": Reason.SECURITYERROR,
        "403": Reason.REJECTED,
        "405": Reason.REJECTED,
        "415": Reason.REJECTED,
        "416": Reason.USERUNKNOWN,
        "417": Reason.MAILBOXFULL,
        "418": Reason.USERUNKNOWN,
        "420": Reason.SUSPEND,
        "421": Reason.REJECTED,
        "426": Reason.SUSPEND,
        "505": Reason.SYSTEMERROR,
        "506": Reason.SPAMDETECTED,
        "510": Reason.BLOCKED,
        "514": Reason.MESGTOOBIG,
        "517": Reason.POLICYVIOLATION,
        "630": Reason.POLICYVIOLATION,
        "999": Reason.BLOCKED,
    },
    phrases=phrase_rows("franceptt"),
)
