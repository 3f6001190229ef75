"""Event ids are a public promise: stable across versions and the transports a bounce took."""

from __future__ import annotations

from pathlib import Path

import pytest

from bounce_stream.detection import parse
from bounce_stream.events import event_records

CORPUS = Path(__file__).parents[1] / "corpus" / "labeled"

# Ids published by earlier releases; consumers deduplicate on them, so they must never change.
KNOWN_IDS = {
    # fingerprinted by Message-ID
    "arf-01.eml": ["def2cf31-a6a1-53c1-9b5c-fdb9d16f2226"],
    "lhost-postfix-02.eml": [
        "95a70370-d2cb-58c6-a31e-bc479b1f262a",
        "ad898b0d-8422-588d-827b-a5a01a37aa89",
    ],
    # no Message-ID: fingerprinted by a digest of the message
    "lhost-gmx-03.eml": [
        "d283fc03-82ef-5e06-b447-001d2e6b1354",
        "226256a9-1612-582c-b924-045350951743",
    ],
    "lhost-mailfoundry-01.eml": ["66e5a161-2463-5c95-8872-0c3cbe63e9c9"],
}


@pytest.mark.parametrize("name", sorted(KNOWN_IDS))
def test_event_ids_of_known_bounces_never_change(name: str) -> None:
    """The same bounce and recipient give the id earlier releases gave."""
    records = event_records(parse((CORPUS / name).read_bytes()), None)
    assert [r["event_id"] for r in records] == KNOWN_IDS[name]


NO_MESSAGE_ID = (
    b"From: MAILER-DAEMON@mx.example.test\n"
    b"To: sender@example.test\n"
    b"Subject: Undelivered Mail Returned to Sender\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\n"
    b"\n"
    b"--B\n"
    b"\n"
    b"The mail system could not deliver your message.\n"
    b"--B\n"
    b"Content-Type: message/delivery-status\n"
    b"\n"
    b"Reporting-MTA: dns; mx.example.test\n"
    b"\n"
    b"Final-Recipient: rfc822; gone@example.org\n"
    b"Action: failed\n"
    b"Status: 5.1.1\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"
    b"--B--\n"
)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda m: m.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda m: m.replace(b"\n", b"\r"), id="bare-cr"),
        pytest.param(lambda m: m.rstrip(b"\n"), id="no-final-newline"),
        pytest.param(lambda m: m.replace(b"\n", b"\r\n") + b"\r", id="trailing-cr"),
        pytest.param(lambda m: m + b"\n\n", id="extra-blank-lines"),
        pytest.param(lambda m: m.replace(b"unknown\n", b"unknown  \t\n"), id="trailing-blanks"),
        pytest.param(lambda m: b"From MAILER-DAEMON Thu Apr 29 23:34:45 2015\n" + m, id="mbox"),
    ],
)
def test_a_message_without_message_id_gets_one_id_whatever_the_transport(variant: object) -> None:
    """Line endings, trailing blanks, NUL handling and an mbox line do not change the id."""
    assert callable(variant)
    plain = event_records(parse(NO_MESSAGE_ID), None)
    changed = event_records(parse(variant(NO_MESSAGE_ID)), None)
    assert plain and [r["recipient"] for r in plain] == ["gone@example.org"]
    assert [r["event_id"] for r in changed] == [r["event_id"] for r in plain]


def test_a_nul_byte_gets_one_id_whether_kept_replaced_or_dropped() -> None:
    """Servers keep a NUL, turn it into 0x80 (Dovecot) or drop it: the id stays the same."""
    with_nul = NO_MESSAGE_ID.replace(b"could not", b"could\x00 not")
    ids = {
        event_records(parse(variant), None)[0]["event_id"]
        for variant in (
            with_nul,
            with_nul.replace(b"\x00", b"\x80"),
            with_nul.replace(b"\x00", b""),
        )
    }
    assert len(ids) == 1


def test_different_messages_without_message_id_get_different_ids() -> None:
    """The canonical form drops transport noise only: any change of content changes the id."""
    other = NO_MESSAGE_ID.replace(b"user unknown", b"no such user")
    ids = [r["event_id"] for r in event_records(parse(NO_MESSAGE_ID), None)]
    other_ids = [r["event_id"] for r in event_records(parse(other), None)]
    assert ids and other_ids and ids != other_ids
