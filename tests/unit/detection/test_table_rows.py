"""Every row of the hand-written detection tables has an effect a test sees.

Deleting a row (a reason phrase, a provider's code, a local-delivery-agent message, a status
mapping) must fail a test (`dev/table_mutations.py` tries it). The expectations are the
documented meanings: RFC 3463 status titles as docs/REASONS.md reads them, the phrases each
reason module declares, the codes each provider documents.
"""

from __future__ import annotations

import pytest

from bounce_stream.detection import reasontext
from bounce_stream.detection.decide import decide, match_text
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost import PROVIDERS, google
from bounce_stream.detection.rhost.base import ProviderRules
from bounce_stream.detection.statuscodes import STANDARD_REASONS

# RFC 3463 enhanced status codes (and Sisimai 5's extensions) with the reason each means on
# its own (statuscodes.STANDARD_REASONS), as docs/REASONS.md reads them.
STATUS_MEANINGS: list[tuple[str, Reason]] = [
    ("2.1.5", Reason.DELIVERED),
    ("4.1.6", Reason.HASMOVED),
    ("4.1.7", Reason.REJECTED),
    ("4.1.8", Reason.REJECTED),
    ("4.1.9", Reason.SYSTEMERROR),
    ("4.2.1", Reason.SUSPEND),
    ("4.2.2", Reason.MAILBOXFULL),
    ("4.2.3", Reason.EXCEEDLIMIT),
    ("4.2.4", Reason.FILTERED),
    ("4.3.1", Reason.SYSTEMFULL),
    ("4.3.2", Reason.NOTACCEPT),
    ("4.3.3", Reason.SYSTEMERROR),
    ("4.3.5", Reason.SYSTEMERROR),
    ("4.4.1", Reason.EXPIRED),
    ("4.4.2", Reason.NETWORKERROR),
    ("4.4.4", Reason.NETWORKERROR),
    ("4.4.5", Reason.SYSTEMFULL),
    ("4.4.6", Reason.NETWORKERROR),
    ("4.4.7", Reason.EXPIRED),
    ("4.5.3", Reason.SYSTEMERROR),
    ("4.5.5", Reason.SYSTEMERROR),
    ("4.6.0", Reason.CONTENTERROR),
    ("4.6.2", Reason.CONTENTERROR),
    ("4.6.5", Reason.CONTENTERROR),
    ("4.7.1", Reason.BLOCKED),
    ("4.7.2", Reason.BLOCKED),
    ("4.7.5", Reason.SECURITYERROR),
    ("4.7.6", Reason.SECURITYERROR),
    ("4.7.7", Reason.SECURITYERROR),
    ("4.7.12", Reason.SECURITYERROR),
    ("4.7.15", Reason.SECURITYERROR),
    ("4.7.16", Reason.MESGTOOBIG),
    ("4.7.24", Reason.AUTHFAILURE),
    ("4.7.25", Reason.REQUIREPTR),
    ("4.7.26", Reason.AUTHFAILURE),
    ("4.7.27", Reason.NOTACCEPT),
    ("4.7.650", Reason.BADREPUTATION),
    ("5.1.0", Reason.USERUNKNOWN),
    ("5.1.1", Reason.USERUNKNOWN),
    ("5.1.2", Reason.HOSTUNKNOWN),
    ("5.1.3", Reason.USERUNKNOWN),
    ("5.1.4", Reason.FILTERED),
    ("5.1.6", Reason.HASMOVED),
    ("5.1.7", Reason.REJECTED),
    ("5.1.8", Reason.REJECTED),
    ("5.1.9", Reason.SYSTEMERROR),
    ("5.1.10", Reason.NOTACCEPT),
    ("5.2.0", Reason.FILTERED),
    ("5.2.1", Reason.FILTERED),
    ("5.2.2", Reason.MAILBOXFULL),
    ("5.2.3", Reason.EXCEEDLIMIT),
    ("5.2.4", Reason.FILTERED),
    ("5.3.0", Reason.SYSTEMERROR),
    ("5.3.1", Reason.SYSTEMFULL),
    ("5.3.2", Reason.NOTACCEPT),
    ("5.3.3", Reason.SYSTEMERROR),
    ("5.3.4", Reason.MESGTOOBIG),
    ("5.3.5", Reason.SYSTEMERROR),
    ("5.4.0", Reason.NETWORKERROR),
    ("5.4.3", Reason.SYSTEMERROR),
    ("5.4.4", Reason.NOTACCEPT),
    ("5.5.3", Reason.TOOMANYCONN),
    ("5.5.4", Reason.SYSTEMERROR),
    ("5.5.5", Reason.SYSTEMERROR),
    ("5.5.6", Reason.SECURITYERROR),
    ("5.6.0", Reason.CONTENTERROR),
    ("5.6.1", Reason.CONTENTERROR),
    ("5.6.2", Reason.CONTENTERROR),
    ("5.6.3", Reason.CONTENTERROR),
    ("5.6.5", Reason.CONTENTERROR),
    ("5.6.6", Reason.CONTENTERROR),
    ("5.6.7", Reason.CONTENTERROR),
    ("5.6.8", Reason.CONTENTERROR),
    ("5.6.9", Reason.CONTENTERROR),
    ("5.7.0", Reason.SECURITYERROR),
    ("5.7.1", Reason.SECURITYERROR),
    ("5.7.2", Reason.SECURITYERROR),
    ("5.7.3", Reason.SECURITYERROR),
    ("5.7.4", Reason.SECURITYERROR),
    ("5.7.5", Reason.SECURITYERROR),
    ("5.7.6", Reason.SECURITYERROR),
    ("5.7.7", Reason.SECURITYERROR),
    ("5.7.8", Reason.SECURITYERROR),
    ("5.7.9", Reason.SECURITYERROR),
    ("5.7.10", Reason.SECURITYERROR),
    ("5.7.11", Reason.SECURITYERROR),
    ("5.7.13", Reason.SUSPEND),
    ("5.7.14", Reason.SECURITYERROR),
    ("5.7.15", Reason.SECURITYERROR),
    ("5.7.16", Reason.MESGTOOBIG),
    ("5.7.17", Reason.HASMOVED),
    ("5.7.18", Reason.HASMOVED),
    ("5.7.19", Reason.SECURITYERROR),
    ("5.7.20", Reason.AUTHFAILURE),
    ("5.7.21", Reason.AUTHFAILURE),
    ("5.7.22", Reason.AUTHFAILURE),
    ("5.7.23", Reason.AUTHFAILURE),
    ("5.7.24", Reason.AUTHFAILURE),
    ("5.7.25", Reason.REQUIREPTR),
    ("5.7.26", Reason.AUTHFAILURE),
    ("5.7.27", Reason.NOTACCEPT),
    ("5.7.509", Reason.AUTHFAILURE),
    ("5.7.510", Reason.AUTHFAILURE),
    ("5.7.515", Reason.AUTHFAILURE),
]


@pytest.mark.parametrize(("status", "reason"), STATUS_MEANINGS)
def test_a_status_alone_means_its_reason(status: str, reason: Reason) -> None:
    """A refusal whose text says nothing specific gets the reason of its status code."""
    evidence = Evidence(
        recipient="a@b.test", diagnostic=f"550 {status} refused", status=status,
        smtp_command="RCPT",
    )
    assert decide(evidence)[0] is reason


@pytest.mark.parametrize(
    "status", [status for status, reason in STATUS_MEANINGS if reason is Reason.CONTENTERROR]
)
def test_a_media_status_outweighs_header_wording(status: str) -> None:
    """Each x.6.x status (RFC 3463 "message content or media status") is contenterror even
    where the text names a malformed header (notcompliantrfc's wording)."""
    evidence = Evidence(
        recipient="a@b.test", diagnostic=f"554 {status} message has an invalid header",
        status=status, smtp_command="DATA",
    )
    assert decide(evidence)[0] is Reason.CONTENTERROR


def test_every_status_mapping_is_pinned() -> None:
    """The status table has exactly the rows listed above (a new row needs its test)."""
    assert sorted(STANDARD_REASONS.items()) == sorted(STATUS_MEANINGS)


# Phrases a reason module declares that an earlier reason in the precedence decides, or that
# need more than their own words (the vacation sentences count only in an auto-reply).
DECIDED_ELSEWHERE: dict[tuple[Reason, str], Reason | None] = {
    (Reason.VACATION, "i am away on vacation"): None,
    (Reason.VACATION, "i am away until"): None,
    (Reason.VACATION, "i am out of the office"): None,
    (Reason.VACATION, "i will be traveling for work on"): None,
    (Reason.POLICYVIOLATION, "dmarc policy"): Reason.AUTHFAILURE,
}


def _own_phrases() -> list[tuple[Reason, str]]:
    return [
        (reason, phrase)
        for reason, matcher in reasontext._OWN.items()
        for phrase in matcher.substrings
    ]


@pytest.mark.parametrize(("reason", "phrase"), _own_phrases())
def test_each_declared_phrase_gives_its_reason(reason: Reason, phrase: str) -> None:
    """A diagnostic holding one of a reason's declared phrases is read as that reason (or as
    the earlier reason the precedence names for it)."""
    expected = DECIDED_ELSEWHERE.get((reason, phrase), reason)
    assert match_text(f"x {phrase} x") is expected


# Declared phrases per reason module (a deleted row changes a count).
OWN_PHRASE_COUNTS = {
    Reason.USERUNKNOWN: 4, Reason.HOSTUNKNOWN: 5, Reason.HASMOVED: 4, Reason.MAILBOXFULL: 4,
    Reason.SUSPEND: 5, Reason.EXCEEDLIMIT: 2, Reason.NOTACCEPT: 6, Reason.VACATION: 4,
    Reason.VIRUSDETECTED: 6, Reason.POLICYVIOLATION: 4, Reason.REJECTED: 2,
    Reason.FILTERED: 1, Reason.NORELAYING: 2, Reason.SECURITYERROR: 2, Reason.EXPIRED: 7,
    Reason.NETWORKERROR: 4, Reason.SYSTEMERROR: 1, Reason.TOOMANYCONN: 3,
    Reason.AUTHFAILURE: 22, Reason.REQUIREPTR: 14, Reason.BADREPUTATION: 9,
    Reason.NOTCOMPLIANTRFC: 23, Reason.SPEEDING: 14, Reason.FAILEDSTARTTLS: 12,
    Reason.SUPPRESSED: 5, Reason.SYNTAXERROR: 5,
}


def test_each_reason_module_keeps_its_phrases() -> None:
    """The reason modules declare the phrases counted above."""
    counts = {r: len(m.substrings) for r, m in reasontext._OWN.items() if m.substrings}
    assert counts == OWN_PHRASE_COUNTS


# Provider code tables, rows per provider (their documented code lists).
CODE_COUNTS = {
    "microsoft": 2, "yahoo": 6, "orange": 23, "cox": 18, "godaddy": 21, "facebook": 32,
    "exchange": 12,
}


def test_each_provider_keeps_its_codes() -> None:
    """Each provider's code table has the rows counted above."""
    counts = {
        p.name: len(p.codes) for p in PROVIDERS if isinstance(p, ProviderRules) and p.codes
    }
    assert counts == CODE_COUNTS


@pytest.mark.parametrize(("phrase", "reason"), google._OWN_PHRASES)
def test_googles_own_sentences_are_googles_verdict(phrase: str, reason: Reason) -> None:
    """Each sentence Google's rules add to Sisimai's table is Google's verdict on a reply."""
    (rules,) = [p for p in PROVIDERS if p.name == "google"]
    assert rules.reason(f"550 5.7.1 {phrase} x", "5.7.1", None) is reason


# One sentence per pattern alternative of the reason modules that no phrase of the same
# reason (theirs or Sisimai 5's) also matches: the wording each alternative was written for.
# (The other alternatives repeat a Sisimai 5 phrase, or are decided by an earlier reason of
# the precedence: deleting one of them changes no decision.)
ALTERNATIVE_SENTENCES: list[tuple[str, Reason]] = [
    ("550 <kijitora@example.jp> not found", Reason.USERUNKNOWN),
    ("550 5.1.1 bad_recipient", Reason.USERUNKNOWN),
    ("550 5.1.1 resolver.adr.recipientnotfound; not found", Reason.USERUNKNOWN),
    ("553 sorry (kijitora@example.jp:blocked)", Reason.BLOCKED),
    ("550 ip 192.0.2.1 is blocked by earthlink", Reason.BLOCKED),
    ("554 5.7.1 rejected: 192.0.2.1 listed on bl.spamcop.net", Reason.BLOCKED),
    ("553 blocked for abuse. see http://att.net/blocks", Reason.SPAMDETECTED),
    ("550 rejected: bulk email", Reason.SPAMDETECTED),
    ("554 refused, see http://www.spamhaus.org/query", Reason.SPAMDETECTED),
    ("554 5.7.1 you're using a mass mailer", Reason.SPAMDETECTED),
    ("554 message carries a trojan", Reason.VIRUSDETECTED),
    ("550 message infected (eicar-test-signature)", Reason.VIRUSDETECTED),
    ("535 5.7.8 authentication credentialsinvalid", Reason.SECURITYERROR),
    (
        "553 sorry, you dont authenticate or the domain isnt in my list of allowed rcpthosts",
        Reason.SECURITYERROR,
    ),
    ("connect to mx.example.jp[192.0.2.1]:25: connection refused", Reason.NETWORKERROR),
    ("delivery to program failed with exit 75", Reason.MAILERERROR),
    ("550 5.7.1 192.0.2.1 is not allowed to send mail from example.jp", Reason.AUTHFAILURE),
    ("550 5.7.1 please check your spf record", Reason.AUTHFAILURE),
    ("550 spf: 192.0.2.1 is not allowed to send mail", Reason.AUTHFAILURE),
    ("550 5.7.1 message denied by spf", Reason.AUTHFAILURE),
    ("550 5.7.26 rejected", Reason.AUTHFAILURE),
    ("550 5.7.1 unauthenticated email from example.jp is not accepted", Reason.AUTHFAILURE),
    ("550 5.7.1 dmarc check: reject", Reason.AUTHFAILURE),
    ("550 reverse dns lookup for host 192.0.2.1 failed", Reason.REQUIREPTR),
    ("554 server access 192.0.2.1 forbidden by invalid rdns", Reason.REQUIREPTR),
    ("550 client host 192.0.2.1 has no ptr", Reason.REQUIREPTR),
    ("550 ptr lookup failed for 192.0.2.1", Reason.REQUIREPTR),
    ("550 5.7.1 missing date header", Reason.NOTCOMPLIANTRFC),
    ("550 5.7.1 message-id header is missing", Reason.NOTCOMPLIANTRFC),
    ("550 5.7.1 header not rfc compliant", Reason.NOTCOMPLIANTRFC),
    ("450 4.7.1 rate limit exceeded, slow down", Reason.SPEEDING),
    ("no valid dane tlsa records for mx.example.jp", Reason.FAILEDSTARTTLS),
]


@pytest.mark.parametrize(("sentence", "reason"), ALTERNATIVE_SENTENCES)
def test_each_pattern_alternative_reads_its_wording(sentence: str, reason: Reason) -> None:
    """A reply worded as one of the reason modules' pattern alternatives has its reason."""
    assert match_text(sentence) is reason
