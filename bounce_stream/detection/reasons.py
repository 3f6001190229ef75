"""The bounce reason vocabulary (docs/reasons.md) and the hard/soft verdict it implies.

This module is the one place the vocabulary lives in Python; ``schemas/bounce_event.avsc``
carries the same symbols and a unit test keeps the two equal.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    USERUNKNOWN = "userunknown"
    HOSTUNKNOWN = "hostunknown"
    HASMOVED = "hasmoved"
    NOTACCEPT = "notaccept"
    MAILBOXFULL = "mailboxfull"
    SUSPEND = "suspend"
    EXCEEDLIMIT = "exceedlimit"
    MESGTOOBIG = "mesgtoobig"
    SYSTEMFULL = "systemfull"
    SYSTEMERROR = "systemerror"
    MAILERERROR = "mailererror"
    NETWORKERROR = "networkerror"
    EXPIRED = "expired"
    TOOMANYCONN = "toomanyconn"
    SPEEDING = "speeding"
    BLOCKED = "blocked"
    BADREPUTATION = "badreputation"
    REQUIREPTR = "requireptr"
    AUTHFAILURE = "authfailure"
    FAILEDSTARTTLS = "failedstarttls"
    SECURITYERROR = "securityerror"
    NORELAYING = "norelaying"
    REJECTED = "rejected"
    FILTERED = "filtered"
    SPAMDETECTED = "spamdetected"
    VIRUSDETECTED = "virusdetected"
    CONTENTERROR = "contenterror"
    NOTCOMPLIANTRFC = "notcompliantrfc"
    POLICYVIOLATION = "policyviolation"
    SYNTAXERROR = "syntaxerror"
    SUPPRESSED = "suppressed"
    ONHOLD = "onhold"
    UNDEFINED = "undefined"
    FEEDBACK = "feedback"
    VACATION = "vacation"
    DELIVERED = "delivered"


class BounceType(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    UNDETERMINED = "undetermined"


# The address itself is gone: downstream may suppress it for good.
_ALWAYS_HARD = frozenset({Reason.USERUNKNOWN, Reason.HOSTUNKNOWN, Reason.HASMOVED})
# Not failures, or too little evidence to call the address good or bad.
_UNDETERMINED = frozenset(
    {Reason.UNDEFINED, Reason.ONHOLD, Reason.FEEDBACK, Reason.VACATION, Reason.DELIVERED}
)


def is_hard(reason: Reason, status: str | None, reply_code: str | None) -> bool:
    """Whether ``reason`` (with the permanence shown by status/reply code) is a hard bounce."""
    if reason in _ALWAYS_HARD:
        return True
    if reason is Reason.NOTACCEPT:
        # A null MX (RFC 7505) is permanent only when the failure itself was permanent.
        if status:
            return status.startswith("5")
        return bool(reply_code) and str(reply_code).startswith("5")
    return False


def bounce_type(reason: Reason, hard: bool) -> BounceType:
    if hard:
        return BounceType.HARD
    if reason in _UNDETERMINED:
        return BounceType.UNDETERMINED
    return BounceType.SOFT
