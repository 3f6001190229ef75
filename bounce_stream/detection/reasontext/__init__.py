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
from bounce_stream.detection.reasontext.matcher import IndexEntry, TextMatcher, tokens_of

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


# word -> [(reason, entry)]: one lookup per word of a diagnostic finds every candidate.
WORD_INDEX: dict[str, list[tuple[Reason, IndexEntry]]] = {}
for _reason, _matcher in MATCHERS.items():
    for _word, _entry in _matcher.index.items():
        WORD_INDEX.setdefault(_word, []).append((_reason, _entry))


_INDEXED_WORDS = frozenset(WORD_INDEX)
# Reasons that may match a text none of whose words is in their index.
TRIED_ALWAYS = frozenset(reason for reason, matcher in MATCHERS.items() if matcher.tries_always)


def entries_by_reason(tokens: frozenset[str]) -> dict[Reason, list[IndexEntry]]:
    """The index entries each reason has for the words in ``tokens``."""
    found: dict[Reason, list[IndexEntry]] = {}
    for word in tokens & _INDEXED_WORDS:
        for reason, entry in WORD_INDEX[word]:
            found.setdefault(reason, []).append(entry)
    return found


def match_text(
    text: str, order: tuple[Reason, ...] = TEXT_ORDER, tokens: frozenset[str] | None = None
) -> Reason | None:
    """The first reason in ``order`` whose patterns match ``text`` (already lower-cased)."""
    entries = entries_by_reason(tokens if tokens is not None else tokens_of(text))
    for reason in order:
        found = entries.get(reason)
        if found is None and reason not in TRIED_ALWAYS:
            continue  # nothing of this reason's can occur in the text
        if MATCHERS[reason].matches_entries(text, found or []):
            return reason
    return None
