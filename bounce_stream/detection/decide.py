"""Decide the reason and status of one recipient from the evidence a detector found.

Precedence follows REASONS.md and Sisimai 5: specific reasons are tried in a fixed order and
each may be proven by the enhanced status code or by the diagnostic text; generic status
classes (x.6, x.7), the diagnostic type, the Action field and the SMTP command are only
fallbacks.
"""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.reasontext import INDEXED_WORDS, MATCHERS
from bounce_stream.detection.reasontext.matcher import TextMatcher, token_list, tokens_of
from bounce_stream.detection.textutil import squeeze, strip_reply_continuations

# Reasons a status code or a text may prove, most specific first.
STRONG_ORDER: tuple[Reason, ...] = (
    Reason.MAILBOXFULL,
    Reason.MESGTOOBIG,
    Reason.EXCEEDLIMIT,
    Reason.SPEEDING,
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
    Reason.TOOMANYCONN,
    Reason.BLOCKED,
)
# Reasons only the text may prove once the strong pass found nothing.
WEAK_TEXT_ORDER: tuple[Reason, ...] = (
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
)
# The one reason precedence: what a text alone says, most specific first (a mailbox-full
# text inside a 5.1.1 answer is a full mailbox, an SPF failure worded like a block is an
# authentication failure), for decisions and for detectors that read a line's reason.
REASON_ORDER: tuple[Reason, ...] = (*STRONG_ORDER, *WEAK_TEXT_ORDER, Reason.SYNTAXERROR)
# Sisimai's reading of a status that says "unknown user" (Reason::UserUnknown): the text is
# checked against these reasons first, and any of them that matches means the status is a
# relay's generic summary of another refusal ("5.1.0 sender rejected", "5.1.1 ... blocked").
# REQUIREPTR is part of Sisimai 4's "blocked" wording, split off in Sisimai 5.
_BEFORE_USERUNKNOWN_STATUS = (
    Reason.NORELAYING,
    Reason.BLOCKED,
    Reason.REQUIREPTR,
    Reason.MAILBOXFULL,
    Reason.HASMOVED,
    Reason.REJECTED,
    Reason.NOTACCEPT,
)
# A standard status decides over the wording of its sibling reason (REASONS.md, Sisimai 5):
# x.2.3 is the recipient's own size limit (exceedlimit) even where the text says "message
# too big", and x.3.4 the system's (mesgtoobig) even where it names a limit.
# Likewise x.6.x (RFC 3463 "message content or media status") is contenterror even where the
# text names a malformed header ("554 5.6.0 Message contains invalid header").
_SIBLINGS: dict[Reason, frozenset[Reason]] = {
    Reason.EXCEEDLIMIT: frozenset({Reason.MESGTOOBIG}),
    Reason.MESGTOOBIG: frozenset({Reason.EXCEEDLIMIT}),
    Reason.CONTENTERROR: frozenset({Reason.NOTCOMPLIANTRFC}),
}
# What a diagnostic may hold that says nothing of why: addresses, reply and status codes.
# An address is tried only where its run of address characters starts ("(?<![^\s<>])"): the
# same matches, without rescanning a run that has no "@" from each of its characters.
_NO_EVIDENCE = re.compile(
    r"<?(?<![^\s<>])[^\s<>]*@[^\s<>]*>?|\b[245]\d\d\b|\b[245]\.\d{1,3}\.\d{1,3}\b|\bsmtp\b"
)
# A sender-rejection text proves "rejected" only where the sender is what was refused
# (Sisimai's Reason::Rejected): at MAIL FROM; after DATA unless the status says unknown user;
# elsewhere only when the status itself decides nothing more specific.
_REJECTED_ANY_COMMAND = frozenset({None, Reason.SECURITYERROR, Reason.SYSTEMERROR})
# Local delivery agents report on the mailbox itself, not from an SMTP dialogue.
_LOCAL_AGENT = re.compile(r"(?:^|\s)(?:mail\.local|procmail|maildrop|dovecot-lda|deliver|local):\s")
# Every match of _LOCAL_AGENT contains one of these; a search tries every position, so the
# substring tests come first.
_LOCAL_AGENT_NEEDS = ("local:", "procmail:", "maildrop:", "dovecot-lda:", "deliver:")
MAX_MATCH_CHARS = 2_000  # reason texts are looked for in this much of a diagnostic
_NON_FAILURES = frozenset({Reason.DELIVERED, Reason.VACATION, Reason.FEEDBACK})
_SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded"})


_Tried = tuple[tuple[Reason, TextMatcher, frozenset[str], tuple[str, ...] | None], ...]


def _tried(order: tuple[Reason, ...]) -> _Tried:
    """(reason, its matcher, its index words, the literals one of which a text needs for the
    patterns it tries on every text: None when it has none, ("",) when they cannot be told)."""
    return tuple(
        (reason, MATCHERS[reason], MATCHERS[reason].words, _needs(MATCHERS[reason]))
        for reason in order
    )


def _needs(matcher: TextMatcher) -> tuple[str, ...] | None:
    if not matcher.tries_always:
        return None
    return matcher.always_needs or ("",)  # "" is in every text: always asked


_STRONG_TRIED = _tried(STRONG_ORDER)
_WEAK_TRIED = _tried(WEAK_TEXT_ORDER)


def match_text(text: str, tokens: frozenset[str] | None = None) -> Reason | None:
    """The first reason of ``REASON_ORDER`` whose patterns match ``text`` (lower-cased)."""
    words = (tokens if tokens is not None else tokens_of(text)) & INDEXED_WORDS
    for reason in REASON_ORDER:
        if MATCHERS[reason].matches_words(text, words):
            return reason
    return None


def decide(evidence: Evidence) -> tuple[Reason, str | None]:
    """The reason and the status code to report for ``evidence``."""
    raw = squeeze(evidence.diagnostic).lower()
    status = _status(evidence, raw)
    reason = evidence.reason or _reason(evidence, status, raw)
    if evidence.reason is None and _given_up(evidence, reason, status, raw):
        reason = Reason.EXPIRED
        # Exim's DSN says 5.0.0 for what it gave up; the remote's own temporary code is
        # the specific one.
        quoted = statuscodes.find_last_status(raw)
        if quoted is not None and quoted.startswith("4") and (status or "5").startswith("5"):
            status = quoted
    if reason in _NON_FAILURES:
        return reason, status if reason is Reason.DELIVERED else (status or None)
    if status is None or status.startswith("2."):
        status = statuscodes.pseudo_status(reason, _temporary(evidence))
    return reason, status


class Diagnostic:
    """A lower-cased diagnostic, its indexed words, and which reasons' texts it matches."""

    __slots__ = ("text", "words")

    def __init__(self, text: str) -> None:
        self.text = text
        # Only words in some reason's index matter; fewer words, cheaper tests in has().
        self.words = INDEXED_WORDS.intersection(token_list(text))

    def __bool__(self) -> bool:
        return bool(self.text)

    def has(self, reason: Reason) -> bool:
        """Whether the text matches ``reason``'s patterns."""
        # Not memoised: a decision asks about the same reason again only in rare fallbacks.
        return MATCHERS[reason].matches_words(self.text, self.words)

    def first(self, tried: _Tried) -> Reason | None:
        """The first reason of ``tried`` (see :func:`_tried`) the text matches."""
        words = self.words
        for reason, matcher, reason_words, needs in tried:
            # The set test in C spares a Python call for most reasons (none of their words).
            if reason_words.isdisjoint(words):
                if needs is None:
                    continue
                for literal in needs:
                    if literal in self.text:
                        break
                else:
                    continue
            if matcher.matches_words(self.text, words):
                return reason
        return None


def _status(evidence: Evidence, text: str) -> str | None:
    if evidence.status and statuscodes.is_status(evidence.status):
        found = evidence.status
        # The remote server's own code (the last one quoted) beats a relay's summary;
        # quoted "x.0.0" codes are placeholders and never do.
        # (Sendmail's transcript ends with its own "554 5.0.0 Service unavailable" after the
        # remote's "<<< 554 5.7.1 ...": the last specific code is the remote's.)
        quoted = statuscodes.find_last_status(text, specific=True)
        if quoted and quoted != found and quoted[0] == found[0]:
            return quoted
        # "5.0.0" in a DSN is a placeholder; a real code in the diagnostic is better. Not in
        # a positive DSN: Sendmail's "250 2.1.5 Ok" there is the RCPT reply, its Status
        # 2.0.0 the delivery's.
        if found.endswith(".0.0") and not found.startswith("2."):
            better = statuscodes.find_status(text)
            if better and better[0] == found[0] and not better.endswith(".0.0"):
                return better
        return found
    return statuscodes.find_status(text)


# Reasons that name the recipient's address, mailbox or domain, or a DNS/routing failure
# towards it: they stay when the MTA gave up (Exim's "mailbox is full: retry timeout
# exceeded", Sendmail's "host name lookup failure" before "Message could not be delivered
# for 5 days"). Any other temporary failure given up (greylisting, rate limits, too many
# connections or recipients, a full disk, a refused connection) is expired.
_OUTLASTS_GIVING_UP = frozenset(
    {
        Reason.USERUNKNOWN,
        Reason.HOSTUNKNOWN,
        Reason.HASMOVED,
        Reason.NOTACCEPT,
        Reason.MAILBOXFULL,
        Reason.SUSPEND,
        Reason.EXCEEDLIMIT,
        Reason.NETWORKERROR,
    }
)
# Greylisting (RFC 6647) only ever defers: a final failure report for it means the sending
# MTA's queue lifetime ended, whether or not the MTA says so (Postfix does not).
_GREYLISTED = re.compile(r"\bgr[ae]y-?list(?:ed|ing)\b")


def _given_up(evidence: Evidence, reason: Reason, status: str | None, raw: str) -> bool:
    """Whether the MTA gave up on a temporary failure (docs/REASONS.md: expired)."""
    if reason in _NON_FAILURES or reason in _OUTLASTS_GIVING_UP:
        return False
    if not evidence.gave_up and not _greylisting_failed(evidence, raw):
        return False
    code = evidence.reply_code or ""
    if code:
        return code.startswith("4")
    return status is None or not status.startswith("5") or evidence.gave_up


def _greylisting_failed(evidence: Evidence, raw: str) -> bool:
    return evidence.action == "failed" and "list" in raw and _GREYLISTED.search(raw) is not None


def _temporary(evidence: Evidence) -> bool:
    if evidence.action == "delayed":
        return True
    code = evidence.reply_code or ""
    return code.startswith("4")


def _reason(evidence: Evidence, status: str | None, raw: str) -> Reason:
    if (status and status.startswith("2.")) or evidence.action in _SUCCESS_ACTIONS:
        return Reason.DELIVERED
    # Only read here: a reason the detector gave or a success needs no text matching.
    text = Diagnostic(strip_reply_continuations(raw)[:MAX_MATCH_CHARS])
    by_status = statuscodes.reason_of(status)
    found = _strong(evidence, by_status, text)
    if evidence.hint is not None and found in (None, Reason.FILTERED):
        return _narrowed(evidence.hint, status)
    if found is None:
        found = text.first(_WEAK_TRIED) if text else None
    if found is None and by_status is not None:
        found = by_status
    return found or _fallback(evidence, status, text)


# RFC 3463 x.2.1 "Mailbox disabled, not accepting messages: the mailbox exists, but is not
# accepting messages". A coarse verdict on the mailbox (PowerMTA's "bad-mailbox" category
# covers missing and disabled mailboxes alike) is a disabled one when the status says so.
_MAILBOX_DISABLED = re.compile(r"[45]\.2\.1")


def _narrowed(hint: Reason, status: str | None) -> Reason:
    """A detector's coarse ``hint`` made specific by the standard meaning of ``status``."""
    if hint is Reason.USERUNKNOWN and status and _MAILBOX_DISABLED.fullmatch(status):
        return Reason.SUSPEND
    return hint


def _strong(evidence: Evidence, by_status: Reason | None, text: Diagnostic) -> Reason | None:
    body, words = text.text, text.words
    for reason, matcher, reason_words, needs in _STRONG_TRIED:
        if reason is by_status:
            if reason is Reason.USERUNKNOWN and _other_refusal(text):
                continue
            return reason
        # text.has(reason), inlined: this loop is the hottest part of a decision, and most
        # reasons have none of the text's words (the test in C spares a Python call).
        if not body:
            continue
        if reason_words.isdisjoint(words):
            if needs is None:
                continue
            # Only the always-tried patterns could match: not without one of their literals.
            for literal in needs:
                if literal in body:
                    break
            else:
                continue
        if by_status is not None and reason in _SIBLINGS.get(by_status, ()):
            continue
        if matcher.matches_words(body, words):
            verdict = _text_verdict(reason, evidence.smtp_command, by_status, body)
            if verdict is not None:
                return verdict
    return None


def _text_verdict(
    reason: Reason, command: str | None, by_status: Reason | None, body: str
) -> Reason | None:
    """What a strong reason the text matches stands for given the SMTP command; None when
    the pass goes on."""
    if reason is Reason.USERUNKNOWN and command != "RCPT" and not _local_agent(body):
        # Sisimai: an unknown-user text not tied to RCPT TO is a filter's answer.
        if command in ("CONN", "EHLO", "HELO", "MAIL"):
            return None
        return Reason.FILTERED
    if reason is Reason.REJECTED and not _sender_refused(command, by_status):
        return None
    return reason


def _sender_refused(command: str | None, by_status: Reason | None) -> bool:
    if command == "MAIL":
        return True
    if command == "DATA":
        return by_status is not Reason.USERUNKNOWN
    return by_status in _REJECTED_ANY_COMMAND


def _other_refusal(text: Diagnostic) -> bool:
    return bool(text) and any(text.has(other) for other in _BEFORE_USERUNKNOWN_STATUS)


def _local_agent(text: str) -> bool:
    for name in _LOCAL_AGENT_NEEDS:
        if name in text:
            return _LOCAL_AGENT.search(text) is not None
    return False


def _fallback(evidence: Evidence, status: str | None, text: Diagnostic) -> Reason:
    """Generic evidence, weakest last: status class, diagnostic type, reply, action, command."""
    klass = (status or "")[:3]
    checks = (
        (klass in ("5.6", "4.6"), Reason.CONTENTERROR),
        (klass in ("5.7", "4.7"), Reason.SECURITYERROR),
        ((evidence.diagnostic_type or "").upper() in ("X-UNIX", "X-POSTFIX"), Reason.MAILERERROR),
        ((evidence.reply_code or "") in ("500", "501", "502", "503", "504"), Reason.SYNTAXERROR),
        (evidence.action in ("delayed", "expired"), Reason.EXPIRED),
        (evidence.smtp_command in ("EHLO", "HELO"), Reason.BLOCKED),
        # A server that answers the connection itself with a refusal (its greeting) refuses
        # the client, not an address or a message (Sisimai: rejected at connection).
        (evidence.smtp_command == "CONN" and _refusal(evidence.reply_code), Reason.BLOCKED),
        (bool(text) and text.has(Reason.VACATION), Reason.VACATION),
    )
    for applies, reason in checks:
        if applies:
            return reason
    # "On hold" needs some evidence; an empty diagnostic or one of only codes and addresses
    # leaves the reason undefined.
    return Reason.ONHOLD if _says_something(text.text) else Reason.UNDEFINED


def _refusal(code: str | None) -> bool:
    return code is not None and code[:1] in ("4", "5")


def _says_something(text: str) -> bool:
    return sum(char.isalpha() for char in _NO_EVIDENCE.sub(" ", text[:500])) >= 2
