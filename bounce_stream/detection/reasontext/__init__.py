"""Reason text patterns, all in one package: which words in a diagnostic mean which reason.

``MATCHERS`` maps each reason to its matcher; the order in which reasons are tried (the one
reason precedence) is ``decide.REASON_ORDER``. Texts are matched lower-cased and
whitespace-squeezed.
"""

from __future__ import annotations

import re

from bounce_stream.detection import data
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.reasontext import (
    blocking,
    content,
    modern,
    policy,
    recipient,
    transport,
)
from bounce_stream.detection.reasontext.matcher import TextMatcher, alternatives

_OWN: dict[Reason, TextMatcher] = {
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


def _with_sisimai5(reason: Reason, own: TextMatcher) -> TextMatcher:
    """``own`` (this package's wording and patterns) with Sisimai 5's phrases for ``reason``
    (``detection/data``): its phrase list as substrings, its ordered part lists as patterns
    whose parts appear in that order."""
    phrases, pairs = data.reason_phrases(reason)
    ordered = [".*?".join(map(re.escape, parts)) for parts in pairs]
    # One alternation, so that each alternative is indexed by its leading word.
    pattern = "|".join(alternatives(own.pattern) + ordered)
    return TextMatcher(
        substrings=tuple(dict.fromkeys(own.substrings + phrases)),
        pattern=pattern,
        unless=own.unless,
    )


MATCHERS: dict[Reason, TextMatcher] = {
    reason: _with_sisimai5(reason, own) for reason, own in _OWN.items()
}

# Every word some reason's index has: the other words of a text never matter.
INDEXED_WORDS = frozenset(word for matcher in MATCHERS.values() for word in matcher.words)
