"""Smaller providers with documented error codes: GoDaddy, Facebook, MessageLabs, Mimecast.

GoDaddy (secureserver.net) appends ``IBnnn`` codes; Facebook's inbound mail answered with
``RCP-P1``-style codes; MessageLabs (Symantec Email Security.cloud) relays the remote
"No such user" without saying at which command; Mimecast names the policy that fired
(``MCSpamSignature`` is its signature-based malware/spam engine).
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules

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
    phrases=(
        ("www.spamhaus.org/query/bl?ip=", Reason.BLOCKED),
        ("554 rbl reject", Reason.BLOCKED),
        ("account disabled", Reason.SUSPEND),
        ("account storage limit", Reason.MAILBOXFULL),
        ("account does not exist", Reason.USERUNKNOWN),
    ),
)

FACEBOOK = ProviderRules(
    name="facebook",
    hosts=re.compile(r"(?i)facebook\.com|facebookmail\.com"),
    code=re.compile(r"\b([A-Z]{3}-[PT]\d)\b"),
    codes={
        "RCP-P1": Reason.USERUNKNOWN,
        "INT-P1": Reason.USERUNKNOWN,
        "INT-P3": Reason.USERUNKNOWN,
        "INT-P4": Reason.USERUNKNOWN,
        "RCP-P2": Reason.FILTERED,
        "RCP-P3": Reason.FILTERED,
        "POL-P1": Reason.BLOCKED,
        "POL-P2": Reason.BLOCKED,
        "MSG-P1": Reason.MESGTOOBIG,
        "INT-P2": Reason.MESGTOOBIG,
        "MSG-P2": Reason.CONTENTERROR,
        "MSG-P3": Reason.NOTCOMPLIANTRFC,
        "POL-P6": Reason.SPAMDETECTED,
        "POL-P7": Reason.POLICYVIOLATION,
        "POL-P3": Reason.BLOCKED,
        "POL-P4": Reason.BLOCKED,
        "POL-T1": Reason.BLOCKED,
        "POL-T2": Reason.BLOCKED,
        "POL-T3": Reason.BLOCKED,
        "DNS-P1": Reason.REJECTED,
        "DNS-P2": Reason.REJECTED,
        "DNS-T1": Reason.REJECTED,
        "DNS-P3": Reason.REQUIREPTR,
        "DNS-T2": Reason.REQUIREPTR,
        "CON-T1": Reason.TOOMANYCONN,
        "CON-T2": Reason.TOOMANYCONN,
        "CON-T3": Reason.TOOMANYCONN,
        "RCP-T1": Reason.SYSTEMERROR,
    },
)

MESSAGELABS = ProviderRules(
    name="messagelabs",
    hosts=re.compile(r"(?i)messagelabs\.com\b"),
    phrases=(
        ("no such user", Reason.USERUNKNOWN),
        ("please turn on smtp authentication", Reason.SECURITYERROR),
    ),
)

MIMECAST = ProviderRules(
    name="mimecast",
    hosts=re.compile(r"(?i)mimecast\.com\b"),
    phrases=(
        ("mcspamsignature", Reason.VIRUSDETECTED),
        ("virus detected", Reason.VIRUSDETECTED),
        ("message contains an attachment that is blocked", Reason.POLICYVIOLATION),
        ("rejected by header based manually blocked senders", Reason.REJECTED),
        ("envelope blocked", Reason.REJECTED),
        ("access denied, sender address not permitted", Reason.REJECTED),
        ("recipient address rejected: access denied", Reason.USERUNKNOWN),
        ("invalid recipient address", Reason.USERUNKNOWN),
        ("user is over quota", Reason.MAILBOXFULL),
        ("ip address blocked", Reason.BLOCKED),
        ("rbl", Reason.BLOCKED),
    ),
)
