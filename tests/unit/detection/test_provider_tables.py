"""Provider tables and reason phrases come from Sisimai 5's data file, whole and as written."""

from __future__ import annotations

import pytest

from bounce_stream.detection import data
from bounce_stream.detection.decide import match_text
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost import PROVIDERS, Provider

_BY_NAME: dict[str, Provider] = {provider.name: provider for provider in PROVIDERS}
# Each table of the data file and the provider rules built from it, with its row width.
TABLES = [
    ("google", "google", 3),
    ("gsuite", "google", 1),
    ("microsoft", "microsoft", 4),
    ("outlook", "microsoft", 1),
    ("yahooinc", "yahoo", 1),
    ("aol", "aol", 1),
    ("apple", "apple", 1),
    ("cox", "cox", 1),
    ("godaddy", "godaddy", 1),
    ("tencent", "tencent", 1),
    ("nttdocomo", "docomo", 1),
    ("kddi", "kddi", 1),
    ("facebook", "facebook", 1),
    ("messagelabs", "messagelabs", 1),
    ("mimecast", "mimecast", 2),
    ("franceptt", "orange", 1),
]
# Rows upstream lists under two reasons: the first one listed decides.
DUPLICATES = {
    ("microsoft", "client was not authenticated", Reason.SECURITYERROR),
    ("facebook", "POL-P7", Reason.SPAMDETECTED),
}
# Rows per table as the data file has them; a lost or misread row changes a count.
ROW_COUNTS = {
    "google": 130,
    "gsuite": 4,
    "microsoft": 134,
    "outlook": 2,
    "yahooinc": 16,
    "aol": 2,
    "apple": 15,
    "cox": 12,
    "godaddy": 10,
    "tencent": 18,
    "nttdocomo": 4,
    "kddi": 2,
    "facebook": 33,
    "messagelabs": 2,
    "mimecast": 48,
    "franceptt": 1,
}


def _reply(row: tuple[str, ...], width: int) -> tuple[str, str | None, str]:
    """A reply carrying a table row: (text, its status, the phrase)."""
    if width == 3:  # reply code, status, sentence
        return f"{row[0]} {row[1]} {row[2]}", row[1], row[2]
    if width == 4:  # status or "x.y." prefix, range low, range high, sentence
        status = row[0] + row[1] if row[1] else row[0]
        return f"550 {status} {row[3]}", status, row[3]
    if width == 2:  # reply code, sentence
        return f"{row[0]} {row[1]}", None, row[1]
    return f"550 {row[0]}", None, row[0]


def _cases() -> list[tuple[str, str, int, Reason, tuple[str, ...]]]:
    return [
        (table, provider, width, reason, row)
        for table, provider, width in TABLES
        for reason, row in data.provider_rows(table, width)
    ]


@pytest.mark.parametrize(("table", "provider", "width", "reason", "row"), _cases())
def test_every_provider_row_gives_its_reason(
    table: str, provider: str, width: int, reason: Reason, row: tuple[str, ...]
) -> None:
    """A reply quoting a table row (with its status) is classified as the row says."""
    text, status, phrase = _reply(row, width)
    if (table, phrase, reason) in DUPLICATES:
        return
    assert _BY_NAME[provider].reason(text, status, None) is reason


@pytest.mark.parametrize(("table", "provider"), [(t, p) for t, p, _ in TABLES])
def test_every_part_list_gives_its_reason(table: str, provider: str) -> None:
    """A reply with all parts of a part list, in order, gets the list's reason."""
    for reason, parts in data.provider_parts(table):
        assert _BY_NAME[provider].reason(" x ".join(parts), None, None) is reason


def test_each_table_keeps_all_its_rows() -> None:
    """The loader keeps every row of every provider table (the counts of the data file)."""
    counts = {
        table: len(data.provider_rows(table, width))
        + (len(data.provider_parts(table)) if width == 1 else 0)
        for table, _, width in TABLES
    }
    assert counts == ROW_COUNTS


def test_flattened_map_keys_start_their_own_rows() -> None:
    """A row that is a reason name starts that reason's rows (Google's 5.2.3 size limit)."""
    rows = data.provider_rows("google", 3)
    assert (Reason.EXCEEDLIMIT, ("552", "5.2.3", "exceeded google's message size limits")) in rows
    assert (Reason.SYNTAXERROR, ("503 bad sequence of commands",)) in data.provider_rows(
        "nttdocomo", 1
    )


def test_code_fragments_are_not_rows() -> None:
    """Blank strings and fragments of upstream code never become phrases."""
    for table, _, width in TABLES:
        for _, row in data.provider_rows(table, 1) if width == 1 else ():
            assert len(row[0].strip()) >= 3, (table, row)
    assert all(
        row[0] not in ("RCPT", "DATA", "5.2.0") for _, row in data.provider_rows("nttdocomo", 1)
    )


def test_same_google_sentence_told_apart_by_status() -> None:
    """Google's size-limit sentence is exceedlimit with 5.2.3 and mesgtoobig with 5.3.4."""
    google = _BY_NAME["google"]
    text = "Your message exceeded Google's message size limits."
    assert google.reason(f"552 5.2.3 {text}", "5.2.3", None) is Reason.EXCEEDLIMIT
    assert google.reason(f"552 5.3.4 {text}", "5.3.4", None) is Reason.MESGTOOBIG


def test_microsoft_own_status_decides_without_its_sentence() -> None:
    """Microsoft's three-digit status (5.7.606-649 banned IP) decides on its own."""
    microsoft = _BY_NAME["microsoft"]
    assert microsoft.reason("550 5.7.615 Access denied [x]", "5.7.615", None) is Reason.BLOCKED
    assert microsoft.reason("550 5.1.1 something else", "5.1.1", None) is None


# Sisimai 5 phrases that an earlier reason in the one precedence (decide.REASON_ORDER)
# decides: the phrase is listed under two reasons upstream, or holds a more specific one's.
PRECEDED: dict[tuple[Reason, str], Reason] = {
    (Reason.USERUNKNOWN, "this address no longer accepts mail"): Reason.SUSPEND,
    (Reason.USERUNKNOWN, "mailbox unavailable or access denied"): Reason.SUSPEND,
    (Reason.SYSTEMFULL, "requested mail action aborted: exceeded storage allocation"): (
        Reason.MAILBOXFULL
    ),
    (Reason.TOOMANYCONN, "throttling failure: daily message quota exceeded"): Reason.MAILBOXFULL,
    (Reason.BLOCKED, "domain does not exist:"): Reason.HOSTUNKNOWN,
    (Reason.BLOCKED, "hosts with dynamic ip"): Reason.REQUIREPTR,
    (Reason.BLOCKED, "is not allowed to send mail from"): Reason.AUTHFAILURE,
    (Reason.BLOCKED, "no matches to nameserver query"): Reason.USERUNKNOWN,
    (Reason.BLOCKED, "temporarily deferred due to unexpected volume or user complaints"): (
        Reason.BADREPUTATION
    ),
    (Reason.BLOCKED, "we do not accept mail from dynamic ips"): Reason.REQUIREPTR,
    (Reason.BADREPUTATION, "has been temporarily rate limited due to ip reputation"): (
        Reason.SPEEDING
    ),
    (Reason.SECURITYERROR, "insecure mail relay"): Reason.NORELAYING,
    (Reason.SECURITYERROR, "recipient address rejected: access denied"): Reason.USERUNKNOWN,
    (Reason.FILTERED, "user not found"): Reason.USERUNKNOWN,
    (Reason.SPAMDETECTED, "message filtered"): Reason.FILTERED,
    (Reason.SPAMDETECTED, "message filtered. please see the faqs section on spam"): (
        Reason.FILTERED
    ),
    (Reason.SPAMDETECTED, "message filtered. refer to the troubleshooting page at "): (
        Reason.FILTERED
    ),
    (Reason.CONTENTERROR, "duplicate header"): Reason.NOTCOMPLIANTRFC,
    (Reason.POLICYVIOLATION, "you're using a mass mailer"): Reason.SPAMDETECTED,
}


@pytest.mark.parametrize("reason", [reason for reason in Reason if data.reason_phrases(reason)[0]])
def test_sisimai5_reason_phrases_are_recognised(reason: Reason) -> None:
    """Each of a reason's Sisimai 5 phrases (and ordered part lists) is read as that reason,
    or as the earlier reason of the precedence listed in PRECEDED."""
    phrases, pairs = data.reason_phrases(reason)
    # As inside a diagnostic: words around the phrase (some end with a space).
    texts = [*phrases, *("".join(parts) for parts in pairs)]
    wrong = [
        (text, got)
        for text in texts
        if (got := match_text(f"x {text} x")) is not PRECEDED.get((reason, text), reason)
    ]
    assert not wrong
