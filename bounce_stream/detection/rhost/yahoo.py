"""Yahoo Inc. (Yahoo Mail, AOL, Verizon Media): bracketed codes such as [TSS04], [TS03].

[TSS04] / "temporarily deferred due to unexpected volume or user complaints" is Yahoo
refusing the sender's traffic; "This user doesn't have a yahoo.com account" is an unknown
recipient even though Yahoo says 554 after DATA.
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules

YAHOO = ProviderRules(
    name="yahoo",
    hosts=re.compile(r"(?i)(?:yahoodns\.net|yahoo\.com|yahoo\.co\.jp|aol\.com|yahooinc\.com)\b"),
    code=re.compile(r"\[(TSS?0\d)\]"),
    codes={
        "TSS04": Reason.REJECTED,
        "TSS05": Reason.REJECTED,
        "TSS09": Reason.REJECTED,
        "TS01": Reason.BLOCKED,
        "TS02": Reason.BLOCKED,
        "TS03": Reason.BLOCKED,
    },
    phrases=(
        ("doesn't have a yahoo.com account", Reason.USERUNKNOWN),
        ("doesn't have a aol.com account", Reason.USERUNKNOWN),
        ("this mailbox is disabled", Reason.SUSPEND),
        ("temporarily deferred due to unexpected volume or user complaints", Reason.REJECTED),
    ),
)
