"""Reason and status rules that hold whatever MTA wrote the bounce."""

from __future__ import annotations

import pytest

from bounce_stream.detection.decide import decide
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.statuscodes import find_reply_code, find_status, pseudo_status


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("550 5.1.1 <a@b.test>... User unknown", "5.1.1"),
        ("Sorry, no mailbox here by that name. (#5.1.1)", "5.1.1"),
        ("host 192.0.2.20 said: 550 no such user", None),
        ("relay 10.4.4.7 refused", None),
    ],
)
def test_find_status_skips_ip_addresses(text: str, status: str | None) -> None:
    """Enhanced status codes are found in text, IPv4 addresses are not mistaken for one."""
    assert find_status(text) == status


def test_find_reply_code_reads_the_reply() -> None:
    """The SMTP reply code is the three digits that start a server reply."""
    assert find_reply_code("host mx said: 452 4.2.2 Over quota") == "452"


@pytest.mark.parametrize(
    ("diagnostic", "status", "command", "reason"),
    [
        ("550 5.1.1 user unknown", "5.1.1", "RCPT", Reason.USERUNKNOWN),
        ("552 5.2.2 mailbox is full", "5.1.1", "RCPT", Reason.MAILBOXFULL),
        ("550 5.7.1 Client host blocked using zen.spamhaus.org", "5.7.1", "RCPT", Reason.BLOCKED),
        ("550 5.7.26 Unauthenticated email is not accepted", "5.7.26", "DATA", Reason.AUTHFAILURE),
        (
            "550 5.7.25 The IP address sending this message does not have a PTR record setup",
            "5.7.25",
            "DATA",
            Reason.REQUIREPTR,
        ),
        ("554 5.7.1 Relay access denied", "5.7.1", "RCPT", Reason.NORELAYING),
        ("550 user unknown", None, "DATA", Reason.FILTERED),
        ("", "4.4.7", None, Reason.EXPIRED),
    ],
)
def test_reason_precedence(
    diagnostic: str, status: str | None, command: str | None, reason: Reason
) -> None:
    """Specific texts beat generic status codes; unknown-user after DATA is a filter."""
    evidence = Evidence(
        recipient="a@b.test", diagnostic=diagnostic, status=status, smtp_command=command
    )
    assert decide(evidence)[0] is reason


def test_missing_status_gets_a_pseudo_code() -> None:
    """A failure without a status code gets Sisimai's x.0.9xx code for its reason."""
    evidence = Evidence(recipient="a@b.test", diagnostic="Sorry, user unknown", smtp_command="RCPT")
    assert decide(evidence) == (Reason.USERUNKNOWN, "5.0.911")
    assert pseudo_status(Reason.MAILBOXFULL, temporary=True) == "4.0.922"


def test_positive_dsn_is_delivered() -> None:
    """Action delivered / a 2.x.x status is a positive DSN, not a failure."""
    evidence = Evidence(recipient="a@b.test", status="2.0.0", action="delivered")
    assert decide(evidence)[0] is Reason.DELIVERED
