"""Event records: deterministic ids, source fields, JSON-ready conversion."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bounce_stream.detection import Action, Bounce, ParseResult, Reason, parse
from bounce_stream.encoding import Decoder, bounce_event_schema, make_encoder
from bounce_stream.events import (
    MAX_RECIPIENT_OCTETS,
    SOURCE_FIELDS,
    Source,
    UnpublishableRecipient,
    event_id,
    event_record,
    event_records,
    to_json_ready,
)

FINGERPRINT = "mid:<dsn-1@mx.sender.test>"


def _bounce(recipient: str = "alice@example.org", **overrides: object) -> Bounce:
    fields: dict[str, object] = {
        "recipient": recipient,
        "reason": Reason.USERUNKNOWN,
        "detected_by": "rfc3464",
        "action": Action.FAILED,
        "status": "5.1.1",
        "reply_code": "550",
    }
    fields.update(overrides)
    return Bounce(**fields)  # type: ignore[arg-type]


def _result(*bounces: Bounce, fingerprint: str = FINGERPRINT) -> ParseResult:
    return ParseResult(
        bounces=bounces, bounce_message_id="<dsn-1@mx.sender.test>", fingerprint=fingerprint
    )


SOURCE_A = Source(
    mailbox="imap://a@imap.example.com:993/INBOX",
    uid=17,
    uidvalidity=1000,
    detected_at=datetime(2026, 11, 25, 20, 0, tzinfo=UTC),
)
SOURCE_B = Source(
    mailbox="imap://b@other.example.com:993/Bounces",
    uid=4242,
    uidvalidity=2000,
    detected_at=datetime(2026, 11, 26, 8, 30, tzinfo=UTC),
)


def test_event_id_is_a_uuid() -> None:
    """event_id is a canonical UUID string."""
    value = event_id(FINGERPRINT, _bounce().recipient)
    assert str(uuid.UUID(value)) == value


def test_event_id_same_bounce_same_id_regardless_of_source() -> None:
    """The same bounce and recipient get the same id whatever mailbox/UID it was read from."""
    bounce = _bounce()
    a = event_record(_result(bounce), bounce, SOURCE_A)
    b = event_record(_result(bounce), bounce, SOURCE_B)
    offline = event_record(_result(bounce), bounce, None)
    assert a["event_id"] == b["event_id"] == offline["event_id"]


def test_event_id_is_stable_across_calls() -> None:
    """Recomputing the id for an equal bounce gives the same value (no randomness)."""
    assert event_id(FINGERPRINT, _bounce().recipient) == event_id(FINGERPRINT, _bounce().recipient)


def test_event_id_differs_per_recipient() -> None:
    """Two recipients of the same bounce message get different ids."""
    assert event_id(FINGERPRINT, "alice@example.org") != event_id(FINGERPRINT, "bob@example.org")


def test_event_id_differs_per_message() -> None:
    """The same recipient in two different bounce messages gets different ids."""
    bounce = _bounce()
    assert event_id("mid:<one@x>", bounce.recipient) != event_id("mid:<two@x>", bounce.recipient)


def test_event_id_recipient_case_insensitive() -> None:
    """Recipient case does not change the id."""
    assert event_id(FINGERPRINT, "Alice@Example.ORG") == event_id(FINGERPRINT, "alice@example.org")


def test_record_recipient_lower_cased() -> None:
    """The record's recipient (the Kafka key) is lower-cased."""
    bounce = _bounce("Alice@Example.ORG")
    assert event_record(_result(bounce), bounce, None)["recipient"] == "alice@example.org"


def test_record_without_source_lacks_source_fields() -> None:
    """Without a Source the record has none of detected_at/mailbox/uid/uidvalidity."""
    bounce = _bounce()
    record = event_record(_result(bounce), bounce, None)
    assert set(SOURCE_FIELDS) == {"detected_at", "mailbox", "uid", "uidvalidity"}
    assert not set(SOURCE_FIELDS) & record.keys()
    assert record["recipient"] == "alice@example.org"


def test_record_with_source_has_source_fields() -> None:
    """With a Source the record carries its mailbox, uid, uidvalidity and detected_at."""
    bounce = _bounce()
    record = event_record(_result(bounce), bounce, SOURCE_A)
    assert record["mailbox"] == SOURCE_A.mailbox
    assert record["uid"] == 17
    assert record["uidvalidity"] == 1000
    assert record["detected_at"] == SOURCE_A.detected_at


def test_record_carries_bounce_fields() -> None:
    """The record maps enum fields to their values and derives hard_bounce/bounce_type."""
    bounce = _bounce()
    record = event_record(_result(bounce), bounce, None)
    assert record["bounce_message_id"] == "<dsn-1@mx.sender.test>"
    assert record["action"] == "failed"
    assert record["reason"] == "userunknown"
    assert record["status"] == "5.1.1"
    assert record["reply_code"] == "550"
    assert record["hard_bounce"] is True
    assert record["bounce_type"] == "hard"
    assert record["detected_by"] == "rfc3464"


def test_record_without_action_has_null_action() -> None:
    """A bounce without an Action gives action None, not the string 'None'."""
    bounce = _bounce(action=None)
    assert event_record(_result(bounce), bounce, None)["action"] is None


def test_event_records_one_per_bounce_in_order() -> None:
    """event_records yields one record per recipient, in the order detection gave them."""
    result = _result(_bounce("c@x.test"), _bounce("a@x.test"), _bounce("b@x.test"))
    records = event_records(result, None)
    assert [r["recipient"] for r in records] == ["c@x.test", "a@x.test", "b@x.test"]
    assert len({r["event_id"] for r in records}) == 3


def test_event_records_empty_for_non_bounce() -> None:
    """A result without bounces gives no records."""
    assert event_records(ParseResult(fingerprint=FINGERPRINT), SOURCE_A) == []


def test_to_json_ready_converts_datetimes_and_bytes() -> None:
    """Datetimes become ISO 8601 strings in UTC, bytes latin-1 text, the rest untouched."""
    tz = timezone(timedelta(hours=2))
    record = {
        "detected_at": datetime(2026, 11, 25, 20, 0, 5, tzinfo=UTC),
        "arrival_date": datetime(2026, 11, 25, 22, 0, tzinfo=tz),
        "raw": b"caf\xe9",
        "uid": 7,
        "hard_bounce": False,
        "status": None,
    }
    ready = to_json_ready(record)
    assert ready == {
        "detected_at": "2026-11-25T20:00:05+00:00",
        "arrival_date": "2026-11-25T20:00:00+00:00",
        "raw": "café",
        "uid": 7,
        "hard_bounce": False,
        "status": None,
    }
    json.dumps(ready)


def test_to_json_ready_makes_full_record_serialisable() -> None:
    """A record with a Source and an arrival date survives json.dumps after conversion."""
    bounce = _bounce(arrival_date=datetime(2026, 11, 25, 19, 0, tzinfo=UTC))
    record = event_record(_result(bounce), bounce, SOURCE_A)
    decoded = json.loads(json.dumps(to_json_ready(record)))
    assert decoded["detected_at"] == "2026-11-25T20:00:00+00:00"
    assert decoded["arrival_date"] == "2026-11-25T19:00:00+00:00"
    assert decoded["event_id"] == record["event_id"]


def test_to_json_ready_does_not_mutate_input() -> None:
    """Conversion returns a new dict and leaves the record's datetimes in place."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    record = {"detected_at": when}
    to_json_ready(record)
    assert record["detected_at"] is when


_DSN = b"""\
From: Mail Delivery System <MAILER-DAEMON@mx.sender.test>
To: bounces@sender.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-7@mx.sender.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Delivery failed.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.sender.test

Final-Recipient: rfc822; carol@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 no such user

--B--
"""


def test_event_id_same_for_copies_delivered_to_two_mailboxes() -> None:
    """The same bounce delivered to two mailboxes (different trace headers) keeps its ids."""
    copy_a = b"Delivered-To: bounces-a@sender.test\nReturn-Path: <>\n" + _DSN
    copy_b = b"Delivered-To: bounces-b@sender.test\nX-Original-To: b@sender.test\n" + _DSN
    ids_a = [r["event_id"] for r in event_records(parse(copy_a), SOURCE_A)]
    ids_b = [r["event_id"] for r in event_records(parse(copy_b), SOURCE_B)]
    assert len(ids_a) == 1
    assert ids_a == ids_b


def test_event_id_does_not_depend_on_the_classification() -> None:
    """A re-read after a classifier change keeps the id: reason and status are not part of it."""
    result_a = ParseResult(bounces=(_bounce(),), fingerprint=FINGERPRINT)
    other = replace(_bounce(), reason=Reason.MAILBOXFULL, status="4.2.2")
    result_b = ParseResult(bounces=(other,), fingerprint=FINGERPRINT)
    assert (
        event_records(result_a, None)[0]["event_id"] == event_records(result_b, None)[0]["event_id"]
    )


def test_repeated_recipient_gets_distinct_ids() -> None:
    """One recipient listed twice in one bounce gives two events with different ids."""
    result = ParseResult(bounces=(_bounce(), _bounce()), fingerprint=FINGERPRINT)
    first, second = event_records(result, None)
    assert first["event_id"] != second["event_id"]


def test_to_json_ready_takes_a_naive_datetime_as_utc() -> None:
    """A naive datetime (a "-0000" zone) is shown as UTC, as the Avro encoder stores it."""
    ready = to_json_ready({"arrival_date": datetime(2026, 11, 25, 9, 59, 58)})
    assert ready["arrival_date"] == "2026-11-25T09:59:58+00:00"


@pytest.mark.parametrize(
    "arrival",
    [
        datetime(2026, 11, 25, 11, 59, 58, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 11, 25, 4, 59, 58, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 11, 25, 9, 59, 58),
    ],
)
def test_json_arrival_date_is_what_the_published_event_carries(arrival: datetime) -> None:
    """The JSON arrival_date equals the one read back from the encoded Avro event (UTC)."""
    bounce = _bounce(arrival_date=arrival)
    record = event_record(_result(bounce), bounce, SOURCE_A)
    schema = bounce_event_schema()
    decoder = Decoder()
    published = decoder.decode(make_encoder(schema).encode(record))
    assert to_json_ready(record)["arrival_date"] == to_json_ready(published)["arrival_date"]
    assert to_json_ready(record)["arrival_date"] == "2026-11-25T09:59:58+00:00"


def test_recipient_at_the_rfc5321_limit_is_published() -> None:
    """A recipient of exactly 256 octets still gives an event."""
    recipient = "a" * (MAX_RECIPIENT_OCTETS - len("@example.org")) + "@example.org"
    (record,) = event_records(_result(_bounce(recipient)), None)
    assert record["recipient"] == recipient


def test_over_long_recipient_is_refused_without_echoing_it() -> None:
    """A recipient over 256 octets raises UnpublishableRecipient (dead letter), not a 100 kB key."""
    recipient = "a" * 100_000 + "@example.org"
    with pytest.raises(UnpublishableRecipient) as info:
        event_records(_result(_bounce("ok@example.org"), _bounce(recipient)), None)
    assert "100012 octets" in str(info.value)
    assert len(str(info.value)) < 200


def test_recipient_limit_counts_utf8_octets() -> None:
    """The limit is in octets: 130 two-octet characters are over it."""
    with pytest.raises(UnpublishableRecipient):
        event_records(_result(_bounce("\u00e9" * 130 + "@example.org")), None)


def test_recipient_with_nul_is_refused() -> None:
    """A recipient holding a NUL character never becomes an event."""
    with pytest.raises(UnpublishableRecipient, match="NUL"):
        event_records(_result(_bounce("abc\x00evil@example.org")), None)


def _dsn(recipient: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.sender.test\r\nTo: bounces@example.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <nul-1@mx.sender.test>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.sender.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--B--\r\n"
    ).encode("latin-1")


@pytest.mark.parametrize(
    "recipient", ["abc\x00evil@example.org", "user@exa\x00mple.org", "user@example.\x00org"]
)
def test_nul_inside_a_recipient_never_yields_another_address(recipient: str) -> None:
    """A DSN whose recipient holds a NUL gives an error (dead letter), not a cut address."""
    result = parse(_dsn(recipient))
    assert result.bounces == ()
    assert result.error is not None and "NUL" in result.error


def test_same_dsn_without_nul_gives_the_event() -> None:
    """The NUL test's DSN with a clean recipient does give its one event."""
    (bounce,) = parse(_dsn("user@example.org")).bounces
    assert bounce.recipient == "user@example.org"
