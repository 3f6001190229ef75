"""SMTP status codes in one place: RFC 3463/5248 enhanced codes, reply codes, pseudo codes.

``STANDARD_REASONS`` maps an enhanced status code to the reason it implies on its own.
When a bounce carries no status code at all, ``pseudo_status`` gives the x.0.9xx code
Sisimai uses for the reason, so every failure event carries a status.
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason

STANDARD_REASONS: dict[str, Reason] = {
    "2.1.5": Reason.DELIVERED,  # Successfully delivered
    "4.1.6": Reason.HASMOVED,  # Destination mailbox has moved, No forwarding address
    "4.1.7": Reason.REJECTED,  # Bad sender's mailbox address syntax
    "4.1.8": Reason.REJECTED,  # Bad sender's system address
    "4.1.9": Reason.SYSTEMERROR,  # Message relayed to non-compliant mailer
    "4.2.1": Reason.SUSPEND,  # Mailbox disabled, not accepting messages
    "4.2.2": Reason.MAILBOXFULL,  # Mailbox full
    "4.2.3": Reason.EXCEEDLIMIT,  # Message length exceeds administrative limit
    "4.2.4": Reason.FILTERED,  # Mailing list expansion problem
    "4.3.1": Reason.SYSTEMFULL,  # Mail system full
    "4.3.2": Reason.NOTACCEPT,  # System not accepting network messages
    "4.3.3": Reason.SYSTEMERROR,  # System not capable of selected features
    "4.3.5": Reason.SYSTEMERROR,  # System incorrectly configured
    "4.4.1": Reason.EXPIRED,  # No answer from host
    "4.4.2": Reason.NETWORKERROR,  # Bad connection
    "4.4.4": Reason.NETWORKERROR,  # Unable to route
    "4.4.5": Reason.SYSTEMFULL,  # Mail system congestion
    "4.4.6": Reason.NETWORKERROR,  # Routing loop detected
    "4.4.7": Reason.EXPIRED,  # Delivery time expired
    "4.5.3": Reason.SYSTEMERROR,  # Too many recipients
    "4.5.5": Reason.SYSTEMERROR,  # Wrong protocol version
    "4.6.0": Reason.CONTENTERROR,  # Other or undefined media error
    "4.6.2": Reason.CONTENTERROR,  # Conversion required and prohibited
    "4.6.5": Reason.CONTENTERROR,  # Conversion Failed
    "4.7.1": Reason.BLOCKED,  # Delivery not authorized, message refused
    "4.7.2": Reason.BLOCKED,  # Mailing list expansion prohibited
    "4.7.5": Reason.SECURITYERROR,  # Cryptographic failure
    "4.7.6": Reason.SECURITYERROR,  # Cryptographic algorithm not supported
    "4.7.7": Reason.SECURITYERROR,  # Message integrity failure
    "4.7.12": Reason.SECURITYERROR,  # A password transition is needed
    "4.7.15": Reason.SECURITYERROR,  # Priority Level is too low
    "4.7.16": Reason.MESGTOOBIG,  # Message is too big for the specified priority
    "4.7.24": Reason.AUTHFAILURE,  # SPF validation error
    "4.7.25": Reason.REQUIREPTR,  # Reverse DNS validation failed
    "4.7.26": Reason.AUTHFAILURE,  # Sisimai 5 / provider extension
    "4.7.27": Reason.NOTACCEPT,  # Sisimai 5 / provider extension
    "4.7.650": Reason.BADREPUTATION,  # Sisimai 5 / provider extension
    "5.1.0": Reason.USERUNKNOWN,  # Other address status
    "5.1.1": Reason.USERUNKNOWN,  # Bad destination mailbox address
    "5.1.2": Reason.HOSTUNKNOWN,  # Bad destination system address
    "5.1.3": Reason.USERUNKNOWN,  # Bad destination mailbox address syntax
    "5.1.4": Reason.FILTERED,  # Destination mailbox address ambiguous
    "5.1.6": Reason.HASMOVED,  # Destination mailbox has moved, No forwarding address
    "5.1.7": Reason.REJECTED,  # Bad sender's mailbox address syntax
    "5.1.8": Reason.REJECTED,  # Bad sender's system address
    "5.1.9": Reason.SYSTEMERROR,  # Message relayed to non-compliant mailer
    "5.1.10": Reason.NOTACCEPT,  # Recipient address has null MX
    "5.2.0": Reason.FILTERED,  # Other or undefined mailbox status
    "5.2.1": Reason.FILTERED,  # Mailbox disabled, not accepting messages
    "5.2.2": Reason.MAILBOXFULL,  # Mailbox full
    "5.2.3": Reason.EXCEEDLIMIT,  # Message length exceeds administrative limit
    "5.2.4": Reason.FILTERED,  # Mailing list expansion problem
    "5.3.0": Reason.SYSTEMERROR,  # Other or undefined mail system status
    "5.3.1": Reason.SYSTEMFULL,  # Mail system full
    "5.3.2": Reason.NOTACCEPT,  # System not accepting network messages
    "5.3.3": Reason.SYSTEMERROR,  # System not capable of selected features
    "5.3.4": Reason.MESGTOOBIG,  # Message too big for system
    "5.3.5": Reason.SYSTEMERROR,  # System incorrectly configured
    "5.4.0": Reason.NETWORKERROR,  # Other or undefined network or routing status
    "5.4.3": Reason.SYSTEMERROR,  # Directory server failure
    "5.4.4": Reason.NOTACCEPT,  # Unable to route
    "5.5.3": Reason.TOOMANYCONN,  # Too many recipients
    "5.5.4": Reason.SYSTEMERROR,  # Invalid command arguments
    "5.5.5": Reason.SYSTEMERROR,  # Wrong protocol version
    "5.5.6": Reason.SECURITYERROR,  # Authentication Exchange line is too long
    "5.6.0": Reason.CONTENTERROR,  # Other or undefined media error
    "5.6.1": Reason.CONTENTERROR,  # Media not supported
    "5.6.2": Reason.CONTENTERROR,  # Conversion required and prohibited
    "5.6.3": Reason.CONTENTERROR,  # Conversion required but not supported
    "5.6.5": Reason.CONTENTERROR,  # Conversion Failed
    "5.6.6": Reason.CONTENTERROR,  # Message content not available
    "5.6.7": Reason.CONTENTERROR,  # Non-ASCII addresses not permitted for that sender/recipient
    "5.6.8": Reason.CONTENTERROR,  # UTF-8 reply required but not permitted
    "5.6.9": Reason.CONTENTERROR,  # UTF-8 header cannot be transferred
    "5.7.0": Reason.SECURITYERROR,  # Other or undefined security status
    "5.7.1": Reason.SECURITYERROR,  # Delivery not authorized, message refused
    "5.7.2": Reason.SECURITYERROR,  # Mailing list expansion prohibited
    "5.7.3": Reason.SECURITYERROR,  # Security conversion required but not possible
    "5.7.4": Reason.SECURITYERROR,  # Security features not supported
    "5.7.5": Reason.SECURITYERROR,  # Cryptographic failure
    "5.7.6": Reason.SECURITYERROR,  # Cryptographic algorithm not supported
    "5.7.7": Reason.SECURITYERROR,  # Message integrity failure
    "5.7.8": Reason.SECURITYERROR,  # Authentication credentials invalid
    "5.7.9": Reason.SECURITYERROR,  # Authentication mechanism is too weak
    "5.7.10": Reason.SECURITYERROR,  # Encryption Needed
    "5.7.11": Reason.SECURITYERROR,  # Encryption required for requested authentication mechanism
    "5.7.13": Reason.SUSPEND,  # User Account Disabled
    "5.7.14": Reason.SECURITYERROR,  # Trust relationship required
    "5.7.15": Reason.SECURITYERROR,  # Priority Level is too low
    "5.7.16": Reason.MESGTOOBIG,  # Message is too big for the specified priority
    "5.7.17": Reason.HASMOVED,  # Mailbox owner has changed
    "5.7.18": Reason.HASMOVED,  # Domain owner has changed
    "5.7.19": Reason.SECURITYERROR,  # RRVS test cannot be completed
    "5.7.20": Reason.AUTHFAILURE,  # No passing DKIM signature found
    "5.7.21": Reason.AUTHFAILURE,  # No acceptable DKIM signature found
    "5.7.22": Reason.AUTHFAILURE,  # No valid author-matched DKIM signature found
    "5.7.23": Reason.AUTHFAILURE,  # SPF validation failed
    "5.7.24": Reason.AUTHFAILURE,  # SPF validation error
    "5.7.25": Reason.REQUIREPTR,  # Reverse DNS validation failed
    "5.7.26": Reason.AUTHFAILURE,  # Multiple authentication checks failed
    "5.7.27": Reason.NOTACCEPT,  # MX resource record of a destination host is Null MX: RFC7505
    "5.7.509": Reason.AUTHFAILURE,  # Sisimai 5 / provider extension
    "5.7.510": Reason.AUTHFAILURE,  # Sisimai 5 / provider extension
    "5.7.515": Reason.AUTHFAILURE,  # Sisimai 5 / provider extension
}

_PSEUDO_SUFFIX: dict[Reason, str] = {
    Reason.UNDEFINED: "900",
    Reason.ONHOLD: "901",
    Reason.SYNTAXERROR: "902",
    Reason.NORELAYING: "909",
    Reason.FILTERED: "910",
    Reason.USERUNKNOWN: "911",
    Reason.HOSTUNKNOWN: "912",
    Reason.HASMOVED: "916",
    Reason.REJECTED: "918",
    Reason.SUSPEND: "921",
    Reason.MAILBOXFULL: "922",
    Reason.EXCEEDLIMIT: "923",
    Reason.SYSTEMERROR: "930",
    Reason.SYSTEMFULL: "931",
    Reason.NOTACCEPT: "932",
    Reason.MESGTOOBIG: "934",
    Reason.MAILERERROR: "939",
    Reason.NETWORKERROR: "944",
    Reason.TOOMANYCONN: "945",
    Reason.EXPIRED: "947",
    Reason.CONTENTERROR: "960",
    Reason.SECURITYERROR: "970",
    Reason.BLOCKED: "971",
    Reason.POLICYVIOLATION: "972",
    Reason.REQUIREPTR: "973",
    Reason.NOTCOMPLIANTRFC: "974",
    Reason.AUTHFAILURE: "975",
    Reason.BADREPUTATION: "976",
    Reason.SPEEDING: "977",
    Reason.FAILEDSTARTTLS: "978",
    Reason.SUPPRESSED: "979",
    Reason.SPAMDETECTED: "980",
    Reason.VIRUSDETECTED: "981",
}

# Sisimai never gives a temporary pseudo code for these: the evidence is always permanent.
_ALWAYS_PERMANENT = frozenset(
    {
        Reason.EXCEEDLIMIT,
        Reason.HASMOVED,
        Reason.HOSTUNKNOWN,
        Reason.MAILERERROR,
        Reason.MESGTOOBIG,
        Reason.NORELAYING,
        Reason.SUSPEND,
        Reason.USERUNKNOWN,
    }
)

# Speed: a pattern that starts with a character class is searched for by that class; one
# that starts with \b or a look-behind is tried at every position, several times slower. So
# "not preceded by X" is written after the first character: ``[45](?<![\d.][45])`` is
# ``(?<![\d.])[45]``, and ``[245](?<!\w[245])`` is ``\b[245]``.
_STATUS_PATTERNS = (
    re.compile(r"[(\[]#?([45]\.\d{1,3}\.\d{1,3})\b"),  # (#5.5.1) qmail, [5.1.1]
    re.compile(r"[245](?<!\w[245])\d\d[ -]#?([45]\.\d{1,3}\.\d{1,3})\b"),  # 550-5.1.1 / 550 5.1.1
    re.compile(r"#([45]\.\d{1,3}\.\d{1,3})\b"),
    re.compile(r"([45](?<![\d.][45])\.\d{1,3}\.\d{1,3})(?![\d]|\.\d)"),
    re.compile(r"(2(?<![\d.]2)\.[0-7]\.[0-7])(?![\d]|\.\d)"),
)
# ``(?:^|[\s:;(\["'])([245]...)``: the reply code at a line start or after one of those
# characters. Written as above (the look-behind holds at the text's start, and "\n" is \s), so
# the search skips to the next 2, 4 or 5; the first match has the same group 1.
_REPLY_PATTERNS = (
    re.compile(
        r"([245](?<![^\s:;(\[\"'][245])[0-5]\d)(?:[ -]#?[245]\.\d|[ -][A-Za-z<(\[:]|$)",
        re.MULTILINE,
    ),
)
_VALID_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
_IP_BEFORE = re.compile(r"\d\.$")
_IP_AFTER = re.compile(r"\.\d")


def is_status(value: str) -> bool:
    """Whether ``value`` is an enhanced status code (class.subject.detail)."""
    return _VALID_STATUS.fullmatch(value) is not None


def find_status(text: str) -> str | None:
    """The first enhanced status code written in ``text``, skipping IPv4 addresses."""
    if not text:
        return None
    text = text[:4000]
    patterns = _STATUS_PATTERNS
    for pattern in patterns:
        for match in pattern.finditer(text):
            code = match.group(1)
            if code.startswith(("4.", "5.", "2.")) and not _inside_ip(
                text, match.start(1), match.end(1)
            ):
                return code
    return None


# _STATUS_PATTERNS[3] for each class digit, with its literal: a pattern that starts with a
# literal character is searched by skipping to that character, one that starts with a class
# tests the class at every position. Its matches never overlap (no match starts after a
# digit or "."), so both patterns' matches together are the combined pattern's.
_LAST_STATUS_BY_CLASS = tuple(
    (f"{digit}.", re.compile(rf"({digit}(?<![\d.]{digit})\.\d{{1,3}}\.\d{{1,3}})(?![\d]|\.\d)"))
    for digit in "54"
)


def find_last_status(text: str, specific: bool = False) -> str | None:
    """The last enhanced status code quoted in ``text`` (the innermost server's answer);
    with ``specific``, the last one that is not an x.0.0 placeholder."""
    last = None
    last_at = -1
    head = text[:4000]
    for literal, pattern in _LAST_STATUS_BY_CLASS:
        if literal not in head:  # the pattern needs it
            continue
        for match in pattern.finditer(head):
            start = match.start(1)
            if start > last_at and not _inside_ip(text, start, match.end(1)):
                if specific and match.group(1).endswith(".0.0"):
                    continue
                last, last_at = match.group(1), start
    return last


def _inside_ip(text: str, start: int, end: int) -> bool:
    # Speed: _IP_BEFORE needs a "." just before ``start`` (or before a "\n" there), _IP_AFTER
    # one at ``end``; mostly neither is, and these tests spare the two regex calls.
    if text[end : end + 1] != "." and text[start - 1 : start] not in (".", "\n"):
        return False
    before = text[max(0, start - 4) : start]
    after = text[end : end + 4]
    return bool(_IP_BEFORE.search(before) or _IP_AFTER.match(after))


def instead_of_placeholder(status: str | None, diagnostic: str) -> str | None:
    """The remote's enhanced code quoted in ``diagnostic`` instead of ``status`` where that is
    an MTA's x.0.0 placeholder for every failure (Courier's 5.0.0, chasquid's 5.0.0/4.0.0)."""
    if status is None or not status.endswith(".0.0") or status.startswith("2."):
        return status
    quoted = find_status(diagnostic)
    if quoted is None or quoted.endswith(".0.0"):
        return status
    return quoted


def find_reply_code(text: str) -> str | None:
    """The first SMTP reply code (2xx/4xx/5xx) at the start of a reply in ``text``."""
    if not text:
        return None
    for pattern in _REPLY_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def reason_of(status: str | None) -> Reason | None:
    """The reason an enhanced status code implies on its own, if any."""
    if not status:
        return None
    return STANDARD_REASONS.get(status)


def pseudo_status(reason: Reason, temporary: bool) -> str | None:
    """Sisimai's internal x.0.9xx code for ``reason``; None for non-failures."""
    suffix = _PSEUDO_SUFFIX.get(reason)
    if suffix is None:
        return None
    klass = "4" if temporary and reason not in _ALWAYS_PERMANENT else "5"
    return f"{klass}.0.{suffix}"
