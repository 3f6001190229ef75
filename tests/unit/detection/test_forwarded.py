"""A bounce that a person forwards "> "-quoted or attached as message/rfc822 is read as the
bounce it carries; a reply quoting a bounce, or an unquoted inline forward, is not."""

from __future__ import annotations

from pathlib import Path

from bounce_stream.detection import ParseOptions, parse

POSTFIX_NOTICE = """\
From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: alice@example.org

This is the mail system at host mail.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<carol@example.net>: host mx.example.net[192.0.2.10] said: 550 5.1.1
    <carol@example.net>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)
"""


def _quoted(text: str) -> str:
    return "".join(("> " + line if line else ">") + "\n" for line in text.splitlines())


def _events(raw: str) -> list[tuple[str, str, str | None]]:
    result = parse(raw.encode(), ParseOptions())
    return [(b.recipient, b.reason.value, b.status) for b in result.bounces]


def test_quoted_forward_of_a_bounce_is_unquoted_and_read() -> None:
    """A "> "-quoted bounce under a "Fw:" subject yields the quoted bounce's recipient."""
    raw = (
        "From: Alice <alice@example.org>\nTo: bounces@example.org\n"
        "Subject: Fw: Undelivered Mail Returned to Sender\n\nPlease remove this address.\n\n"
        + _quoted(POSTFIX_NOTICE)
    )
    assert _events(raw) == [("carol@example.net", "userunknown", "5.1.1")]


def test_unquoted_inline_forward_is_left_to_people() -> None:
    """A bounce pasted under a "Forwarded message" line, unquoted, gives no event."""
    raw = (
        "From: Alice <alice@example.org>\nTo: helpdesk@example.org\n"
        "Subject: Fwd: Undelivered Mail Returned to Sender\n\nCan you look at this?\n\n"
        "---------- Forwarded message ---------\n" + POSTFIX_NOTICE
    )
    assert _events(raw) == []


def test_dsn_attached_as_message_rfc822_is_read() -> None:
    """A DSN forwarded as an attachment yields its Final-Recipient and Status."""
    dsn = (
        "Return-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON@mail.example.org>\n"
        "To: alice@example.org\nSubject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="inner"\n\n'
        "--inner\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--inner\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mail.example.org\n\n"
        "Final-Recipient: rfc822; dave@example.net\nAction: failed\nStatus: 5.2.2\n"
        "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n\n--inner--\n"
    )
    raw = (
        "From: Alice <alice@example.org>\nTo: bounces@example.org\nSubject: FW: bounce\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="outer"\n\n'
        "--outer\nContent-Type: text/plain\n\nSee attached.\n\n"
        "--outer\nContent-Type: message/rfc822\n\n" + dsn + "\n--outer--\n"
    )
    assert _events(raw) == [("dave@example.net", "mailboxfull", "5.2.2")]


def test_reply_quoting_a_whole_bounce_gives_no_event() -> None:
    """A "Re:" that quotes a bounce, header and all, is a conversation, not a bounce."""
    raw = (
        "From: Bob <bob@example.org>\nTo: alice@example.org\n"
        "Subject: Re: Undelivered Mail Returned to Sender\n\nWhich address did you use?\n\n"
        + _quoted(POSTFIX_NOTICE)
    )
    assert _events(raw) == []


def test_not_bounce_corpus_style_mail_stays_silent() -> None:
    """The unit samples of ordinary mail give no event with the forward reader in place."""
    samples = Path(__file__).parent / "samples"
    for path in sorted(samples.glob("not-bounce*.eml")) + sorted(samples.glob("human*.eml")):
        assert parse(path.read_bytes(), ParseOptions()).bounces == (), path.name
