"""Sendmail's plain-text bounces (``SendMimeErrors=False``): the per-address ``(reason: ...)``
line of savemail.c's list and the ``>>> command`` / ``<<< reply`` pairs of usersmtp.c's
transcript. The samples are composed from Sendmail's templates with other hosts, addresses,
codes and texts than the bounce lab's."""

from __future__ import annotations

from bounce_stream.detection import Reason, parse
from bounce_stream.detection.mta.sendmail import answer_to, exchanges, recorded_reasons


def _plain(listing: str, transcript: str) -> bytes:
    return f"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>
To: <sender@example.org>
Subject: Returned mail: see transcript for details
Auto-Submitted: auto-generated (failure)

The original message was received at Mon, 2 Mar 2026 10:00:00 GMT
from client.example.org [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
{listing}

   ----- Transcript of session follows -----
{transcript}

   ----- Original message follows -----

From: Sender <sender@example.org>
To: list of recipients
Subject: hello

Body.
""".encode()


_UNKNOWN = "550 5.1.1 <ann@example.net>... no mailbox by that name"
_FULL = "552 5.2.2 <bob@example.net>... mailbox over quota"
_RELAY = "554 5.7.1 <cy@example.com>: relaying denied"


def _three_recipients() -> bytes:
    listing = (
        f"<ann@example.net>\n    (reason: {_UNKNOWN})\n"
        f"<bob@example.net>\n    (reason: {_FULL})\n"
        f"<cy@example.com>\n    (reason: {_RELAY})"
    )
    # Sendmail's own verdict lines follow each refusal: "User unknown" for 550 and 551,
    # "Service unavailable" for the other 5xx replies.
    transcript = (
        "... while talking to mx1.example.net.:\n"
        f">>> RCPT To:<cy@example.com>\n<<< {_RELAY}\n554 5.0.0 Service unavailable\n"
        f">>> RCPT To:<bob@example.net>\n<<< {_FULL}\n554 5.0.0 Service unavailable\n"
        f">>> RCPT To:<ann@example.net>\n<<< {_UNKNOWN}\n"
        "550 5.1.1 <ann@example.net>... User unknown"
    )
    return _plain(listing, transcript)


def test_each_recipient_of_one_session_gets_the_reply_to_its_own_rcpt() -> None:
    """In a session with several RCPT commands, each address is classified from the reply
    to its own command, not from the replies to the recipients before it."""
    found = {
        bounce.recipient: (bounce.reason, bounce.status, bounce.hard_bounce, bounce.smtp_command)
        for bounce in parse(_three_recipients()).bounces
    }
    assert found == {
        "ann@example.net": (Reason.USERUNKNOWN, "5.1.1", True, "RCPT"),
        "bob@example.net": (Reason.MAILBOXFULL, "5.2.2", False, "RCPT"),
        "cy@example.com": (Reason.NORELAYING, "5.7.1", False, "RCPT"),
    }


def test_sendmail_user_unknown_verdict_does_not_override_the_remote_reply() -> None:
    """Sendmail's own "550 5.1.1 <a@b>... User unknown" after any 550 RCPT reply does not
    replace what the remote server said (here a missing reverse DNS name)."""
    reply = "550 5.7.25 Client host rejected: cannot find your hostname, [192.0.2.10]"
    raw = _plain(
        f"<dee@example.net>\n    (reason: {reply})",
        f"... while talking to mx.example.net.:\n>>> RCPT To:<dee@example.net>\n<<< {reply}\n"
        "550 5.1.1 <dee@example.net>... User unknown",
    )
    (bounce,) = parse(raw).bounces
    assert (bounce.reason, bounce.status, bounce.hard_bounce) == (
        Reason.REQUIREPTR, "5.7.25", False)


def test_recorded_reason_picks_the_failing_reply_among_earlier_ones() -> None:
    """When an earlier command got a temporary reply (a refused STARTTLS), the address's
    recorded reason names the reply that failed it, and the command it answered."""
    reply = "530 5.7.0 Must issue a STARTTLS command first"
    raw = _plain(
        f"<eve@example.net>\n    (reason: {reply})",
        "... while talking to mx.example.net.:\n>>> STARTTLS dialogue\n"
        "<<< 454 4.7.0 TLS not available due to temporary reason\n"
        f">>> MAIL From:<sender@example.org> SIZE=1200\n<<< {reply}\n"
        "554 5.0.0 Service unavailable",
    )
    (bounce,) = parse(raw).bounces
    assert (bounce.status, bounce.smtp_command, bounce.reason) == (
        "5.7.0", "MAIL", Reason.FAILEDSTARTTLS)


def test_multiline_reply_is_kept_whole_though_the_reason_line_holds_its_last_line() -> None:
    """Sendmail records only the last line of a multi-line reply; the transcript's reply to
    the address's RCPT gives the whole text."""
    last = "550 5.1.1 https://help.example.net/nosuchuser - mx"
    raw = _plain(
        f"<fay@example.net>\n    (reason: {last})",
        "... while talking to mx.example.net.:\n>>> RCPT To:<fay@example.net>\n"
        "<<< 550-5.1.1 The email account that you tried to reach does not exist.\n"
        f"<<< {last}\n550 5.1.1 <fay@example.net>... User unknown",
    )
    (bounce,) = parse(raw).bounces
    assert "does not exist" in (bounce.diagnostic_code or "")
    assert (bounce.reason, bounce.status) == (Reason.USERUNKNOWN, "5.1.1")


def test_recorded_reasons_keeps_only_smtp_replies_with_a_status() -> None:
    """Sendmail's own recorded texts (a host lookup, a mailer's exit status, an empty one)
    are not taken as the server's reply."""
    listing = (
        "   ----- The following addresses had permanent fatal errors -----\n"
        "<gus@example.net>\n    (reason: 550 Host unknown)\n"
        '"|/usr/local/bin/filter"\n    (reason: 75)\n    (expanded from: <hal@example.org>)\n'
        "<ida@example.net>\n    (reason: )\n"
        "<jo@example.net>\n    (reason: 451 4.3.0 <jo@example.net>: temporary lookup failure)\n"
        "    (expanded from: <joe@example.org>)\n"
    )
    assert recorded_reasons(listing) == {
        "jo@example.net": "451 4.3.0 <jo@example.net>: temporary lookup failure"
    }


def test_replies_belong_to_the_command_before_them_per_session() -> None:
    """A reply pairs with the last command sent in its session; a reply before any command
    is the greeting (CONN)."""
    steps = exchanges(
        "... while talking to mx1.example.net.:\n<<< 421 4.3.2 busy\n"
        "... while talking to mx2.example.net.:\n>>> EHLO relay.example.org\n"
        "<<< 250-mx2.example.net\n<<< 250 PIPELINING\n"
        ">>> RCPT To:<kim@example.net> NOTIFY=FAILURE\n<<< 450 4.2.0 try later\n"
        "<kim@example.net>... Deferred: 450 4.2.0 try later\n"
    )
    assert [(step.command, step.replies) for step in steps] == [
        ("CONN", ["<<< 421 4.3.2 busy"]),
        ("EHLO", ["<<< 250-mx2.example.net", "<<< 250 PIPELINING"]),
        ("RCPT", ["<<< 450 4.2.0 try later"]),
    ]
    assert answer_to(steps, "kim@example.net", None) == ("RCPT", "<<< 450 4.2.0 try later")
    assert answer_to(steps, "lou@example.net", None) is None


def test_long_transcript_is_read_in_bounded_lines() -> None:
    """A hostile transcript of many lines is read only up to a bound."""
    steps = exchanges(">>> RCPT To:<a@example.net>\n" + "<<< 250 ok\n" * 100_000)
    assert sum(len(step.replies) for step in steps) < 10_000


def test_an_accepted_rcpt_in_a_verbose_transcript_does_not_hide_a_later_refusal() -> None:
    """When the transcript also shows the RCPT the server accepted, the address is read from
    the refusal its recorded reason names (here at DATA)."""
    reply = "554 5.7.1 Message refused: content policy"
    raw = _plain(
        f"<max@example.net>\n    (reason: {reply})",
        "... while talking to mx.example.net.:\n>>> RCPT To:<max@example.net>\n"
        f"<<< 250 2.1.5 Recipient ok\n>>> DATA\n<<< 354 go ahead\n>>> .\n<<< {reply}\n"
        "554 5.0.0 Service unavailable",
    )
    (bounce,) = parse(raw).bounces
    assert (bounce.status, bounce.smtp_command) == ("5.7.1", "DATA")


def test_an_address_only_deferred_in_the_transcript_is_not_reported_failed() -> None:
    """An address the transcript shows deferred but sendmail's list does not name is still
    queued: the notice yields events for the listed addresses only."""
    deferred = "450 4.2.0 <ned@example.net>: try again later"
    raw = _plain(
        f"<ann@example.net>\n    (reason: {_UNKNOWN})",
        "... while talking to mx1.example.net.:\n"
        f">>> RCPT To:<ned@example.net>\n<<< {deferred}\n"
        f"<ned@example.net>... Deferred: {deferred}\n"
        f">>> RCPT To:<ann@example.net>\n<<< {_UNKNOWN}\n"
        "550 5.1.1 <ann@example.net>... User unknown",
    )
    assert [bounce.recipient for bounce in parse(raw).bounces] == ["ann@example.net"]
