"""Automatic replies are recognised by RFC 3834 and vendor header markers (reason vacation),
while a subject alone, ``Auto-Submitted: no`` and bounces marked auto-replied are not."""

from __future__ import annotations

import pytest

from bounce_stream.detection import ParseOptions, parse


def _message(subject: str, fields: str, sender: str = "Taro <taro@example.com>") -> bytes:
    return (
        f"From: {sender}\nTo: sender@example.org\nSubject: {subject}\n"
        f"Message-ID: <r1@example.com>\n{fields}\n\nI am away until Monday.\n"
    ).encode()


def _reasons(raw: bytes) -> list[tuple[str, str, str]]:
    result = parse(raw, ParseOptions())
    return [(b.recipient, b.reason.value, b.detected_by) for b in result.bounces]


AUTO_REPLIES = {
    "rfc3834 auto-replied": ("Re: Report", "Auto-Submitted: auto-replied"),
    "vacation(1) with a comment": ("I am on vacation", "Auto-Submitted: auto-replied (vacation)"),
    "precedence auto_reply": ("Re: Report", "Precedence: auto_reply"),
    "x-autoreply": ("Re: Report", "X-Autoreply: yes"),
    "x-autorespond": ("Re: Report", "X-Autorespond: Report"),
    "apple vacation": ("Re: Report", "X-Apple-Action: VACATION"),
    "exchange automatic reply": (
        "Automatic reply: Report",
        "Auto-Submitted: auto-generated\nX-Auto-Response-Suppress: All",
    ),
    "old exchange out of office": ("Out of Office: Report", "X-Auto-Response-Suppress: All"),
    "german exchange": ("Automatische Antwort: Bericht", "Auto-Submitted: auto-generated"),
    "german notice": ("Abwesenheitsnotiz: Bericht", "X-MS-Exchange-Inbox-Rules-Loop: a@b.example"),
    "french encoded": (
        "=?UTF-8?Q?R=C3=A9ponse_automatique=C2=A0:_Bonjour?=",
        "Auto-Submitted: auto-generated",
    ),
    "spanish with precedence bulk": ("Respuesta automática: Hola", "Precedence: bulk"),
    "japanese encoded": ("=?UTF-8?B?6Ieq5YuV5b+c562UOiBIZWxsbw==?=", "Precedence: junk"),
    "swedish": ("Autosvar: Möte", "Auto-Submitted: auto-generated"),
}


@pytest.mark.parametrize(("subject", "fields"), AUTO_REPLIES.values(), ids=AUTO_REPLIES.keys())
def test_auto_reply_markers_give_a_vacation_event_for_the_replier(
    subject: str, fields: str
) -> None:
    """Each standard or vendor auto-reply marker yields one vacation event for the From."""
    assert _reasons(_message(subject, fields)) == [("taro@example.com", "vacation", "rfc3834")]


NOT_AUTO_REPLIES = {
    "subject alone": ("Out of Office: Report", ""),
    "auto-submitted no": ("Out of Office: Report", "Auto-Submitted: no"),
    "x-autoreply no": ("Re: Report", "X-Autoreply: no"),
    "newsletter with precedence bulk": ("Out of office ideas for summer", "Precedence: bulk"),
    "outlook mail with the suppress field": ("Meeting notes", "X-Auto-Response-Suppress: All"),
    "ticket system auto-generated": ("[Ticket #12] Received", "Auto-Submitted: auto-generated"),
}


@pytest.mark.parametrize(
    ("subject", "fields"), NOT_AUTO_REPLIES.values(), ids=NOT_AUTO_REPLIES.keys()
)
def test_weak_or_negative_markers_alone_give_no_event(subject: str, fields: str) -> None:
    """A subject without a marker, a supporting marker without the subject, or "no" is silent."""
    assert _reasons(_message(subject, fields)) == []


def test_a_bounce_marked_auto_replied_stays_a_bounce() -> None:
    """Bounce detectors run first: a notice marked Auto-Submitted: auto-replied is a bounce."""
    raw = (
        b"Return-Path: <>\nFrom: MAILER-DAEMON@mail.example.org (Mail Delivery System)\n"
        b"To: sender@example.org\nAuto-Submitted: auto-replied\n"
        b"Subject: Undelivered Mail Returned to Sender\n\n"
        b"<alice@example.net>: host mx.example.net[192.0.2.10] said: 550 5.1.1 User unknown\n"
    )
    assert [(r, reason) for r, reason, _ in _reasons(raw)] == [("alice@example.net", "userunknown")]


def test_an_auto_reply_from_a_mail_system_is_no_vacation() -> None:
    """MAILER-DAEMON's auto-replied notice that no detector reads is never a vacation."""
    raw = _message("Re: Report", "Auto-Submitted: auto-replied", sender="MAILER-DAEMON@example.com")
    assert _reasons(raw) == []
