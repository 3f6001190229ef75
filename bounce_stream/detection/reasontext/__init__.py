"""Reason text patterns, all in one package: which words in a diagnostic mean which reason.

``match_text`` answers "which reason does this text describe" by trying the reasons in
``TEXT_ORDER``, most specific first. Texts are matched lower-cased and whitespace-squeezed.
"""

from __future__ import annotations

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.reasontext import (
    blocking,
    content,
    modern,
    policy,
    recipient,
    transport,
)
from bounce_stream.detection.reasontext.matcher import TextMatcher, tokens_of

MATCHERS: dict[Reason, TextMatcher] = {
    Reason.USERUNKNOWN: recipient.USERUNKNOWN,
    Reason.HOSTUNKNOWN: recipient.HOSTUNKNOWN,
    Reason.HASMOVED: recipient.HASMOVED,
    Reason.MAILBOXFULL: recipient.MAILBOXFULL,
    Reason.SUSPEND: recipient.SUSPEND,
    Reason.EXCEEDLIMIT: recipient.EXCEEDLIMIT,
    Reason.NOTACCEPT: recipient.NOTACCEPT,
    Reason.MESGTOOBIG: recipient.MESGTOOBIG,
    Reason.VACATION: recipient.VACATION,
    Reason.BLOCKED: blocking.BLOCKED,
    Reason.SPAMDETECTED: content.SPAMDETECTED,
    Reason.VIRUSDETECTED: content.VIRUSDETECTED,
    Reason.CONTENTERROR: content.CONTENTERROR,
    Reason.POLICYVIOLATION: policy.POLICYVIOLATION,
    Reason.REJECTED: policy.REJECTED,
    Reason.FILTERED: policy.FILTERED,
    Reason.NORELAYING: policy.NORELAYING,
    Reason.SECURITYERROR: policy.SECURITYERROR,
    Reason.EXPIRED: transport.EXPIRED,
    Reason.NETWORKERROR: transport.NETWORKERROR,
    Reason.SYSTEMERROR: transport.SYSTEMERROR,
    Reason.SYSTEMFULL: transport.SYSTEMFULL,
    Reason.TOOMANYCONN: transport.TOOMANYCONN,
    Reason.MAILERERROR: transport.MAILERERROR,
    Reason.AUTHFAILURE: modern.AUTHFAILURE,
    Reason.REQUIREPTR: modern.REQUIREPTR,
    Reason.BADREPUTATION: modern.BADREPUTATION,
    Reason.NOTCOMPLIANTRFC: modern.NOTCOMPLIANTRFC,
    Reason.SPEEDING: modern.SPEEDING,
    Reason.FAILEDSTARTTLS: modern.FAILEDSTARTTLS,
    Reason.SUPPRESSED: modern.SUPPRESSED,
    Reason.SYNTAXERROR: modern.SYNTAXERROR,
}

# Most specific first: a mailbox-full text inside a 5.1.1 answer is a full mailbox, an SPF
# failure worded like a block is an authentication failure, and so on.
TEXT_ORDER: tuple[Reason, ...] = (
    Reason.MAILBOXFULL,
    Reason.MESGTOOBIG,
    Reason.EXCEEDLIMIT,
    Reason.SUSPEND,
    Reason.HASMOVED,
    Reason.NORELAYING,
    Reason.AUTHFAILURE,
    Reason.USERUNKNOWN,
    Reason.FILTERED,
    Reason.REQUIREPTR,
    Reason.NOTCOMPLIANTRFC,
    Reason.BADREPUTATION,
    Reason.REJECTED,
    Reason.HOSTUNKNOWN,
    Reason.SPAMDETECTED,
    Reason.SPEEDING,
    Reason.TOOMANYCONN,
    Reason.BLOCKED,
    Reason.SUPPRESSED,
    Reason.FAILEDSTARTTLS,
    Reason.POLICYVIOLATION,
    Reason.VIRUSDETECTED,
    Reason.SECURITYERROR,
    Reason.SYSTEMERROR,
    Reason.NETWORKERROR,
    Reason.EXPIRED,
    Reason.CONTENTERROR,
    Reason.SYSTEMFULL,
    Reason.NOTACCEPT,
    Reason.MAILERERROR,
    Reason.SYNTAXERROR,
)


# Every word some reason's index has: the other words of a text never matter.
INDEXED_WORDS = frozenset(word for matcher in MATCHERS.values() for word in matcher.words)


def match_text(
    text: str, order: tuple[Reason, ...] = TEXT_ORDER, tokens: frozenset[str] | None = None
) -> Reason | None:
    """The first reason in ``order`` whose patterns match ``text`` (already lower-cased)."""
    words = (tokens if tokens is not None else tokens_of(text)) & INDEXED_WORDS
    for reason in order:
        if MATCHERS[reason].matches_words(text, words):
            return reason
    return None
