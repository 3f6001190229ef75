"""Yahoo Inc. (Yahoo Mail, AOL, Verizon Media): bracketed codes such as [TSS04], [TS03].

Sentences: Sisimai 5's Yahoo Inc. and AOL tables (``detection/data``). Codes: Yahoo's
published SMTP error codes ("[TSS04] ... temporarily deferred due to unexpected volume or
user complaints" refuses the sender's traffic; [TS01]-[TS03] block the sending IP).
Applied when Yahoo's servers (yahoodns.net MX hosts) answered, never for the recipient's
domain alone.
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules, phrase_rows

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
    phrases=phrase_rows("yahooinc"),
)

AOL = ProviderRules(
    name="aol",
    hosts=re.compile(r"(?i)aol\.com\b"),
    phrases=phrase_rows("aol"),
)
