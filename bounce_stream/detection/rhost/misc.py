"""Smaller providers with documented error codes: GoDaddy, Facebook, MessageLabs, Mimecast,
Apple (iCloud Mail).

GoDaddy (secureserver.net) appends ``IBnnn`` codes; Facebook's inbound mail answered with
``RCP-P1``-style codes; MessageLabs (Symantec Email Security.cloud) relays the remote
"No such user" without saying at which command; Mimecast names the policy that fired.
Sentences and Facebook's codes are Sisimai 5's tables (``detection/data``); the GoDaddy
``IBnnn`` codes are GoDaddy's bounce-back reference ("What does my email bounceback mean?",
as listed with its wording in Sisimai 4.25's GoDaddy table).
"""

from __future__ import annotations

import re

from bounce_stream.detection import data
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules, part_rows, phrase_rows

GODADDY = ProviderRules(
    name="godaddy",
    hosts=re.compile(r"(?i)secureserver\.net\b"),
    code=re.compile(r"\b(IB\d{3})\b"),
    codes={
        "IB007": Reason.TOOMANYCONN,
        "IB101": Reason.EXPIRED,
        "IB103": Reason.BLOCKED,
        "IB104": Reason.BLOCKED,
        "IB105": Reason.BLOCKED,
        "IB106": Reason.BLOCKED,
        "IB108": Reason.REQUIREPTR,
        "IB110": Reason.BLOCKED,
        "IB111": Reason.BLOCKED,
        "IB112": Reason.BLOCKED,
        "IB113": Reason.BLOCKED,
        "IB212": Reason.SPAMDETECTED,
        "IB401": Reason.SECURITYERROR,
        "IB501": Reason.REJECTED,
        "IB502": Reason.REJECTED,
        "IB504": Reason.TOOMANYCONN,
        "IB506": Reason.REJECTED,
        "IB508": Reason.REJECTED,
        "IB510": Reason.TOOMANYCONN,
        "IB607": Reason.TOOMANYCONN,
        "IB705": Reason.VIRUSDETECTED,
    },
    phrases=phrase_rows("godaddy"),
)

FACEBOOK = ProviderRules(
    name="facebook",
    hosts=re.compile(r"(?i)facebook\.com|facebookmail\.com"),
    code=re.compile(r"\b([A-Z]{3}-[PT]\d)\b"),
    # Each code once, under the first reason the table lists it for (POL-P7 twice).
    codes={row[0]: reason for reason, row in reversed(data.provider_rows("facebook", 1))},
)

MESSAGELABS = ProviderRules(
    name="messagelabs",
    hosts=re.compile(r"(?i)messagelabs\.com\b"),
    # MessageLabs relays the remote server's RCPT refusal as "550 addr... No such user"
    # without naming the command; the table's own row needs its "542 ... Rejected" form.
    phrases=(*phrase_rows("messagelabs"), ("no such user", Reason.USERUNKNOWN)),
    parts=part_rows("messagelabs"),
)

MIMECAST = ProviderRules(
    name="mimecast",
    hosts=re.compile(r"(?i)mimecast\.com\b"),
    # Sisimai 5's rows are (reply code, sentence); the sentences are Mimecast's own.
    phrases=tuple((row[1].lower(), reason) for reason, row in data.provider_rows("mimecast", 2)),
)

APPLE = ProviderRules(
    name="apple",
    hosts=re.compile(r"(?i)(?:icloud\.com|\bme\.com|\bmac\.com|apple\.com)\b"),
    phrases=phrase_rows("apple"),
)
