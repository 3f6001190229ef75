"""The local-delivery-agent table: an agent's own wording decides, the rest is mailererror."""

from __future__ import annotations

import pytest

from bounce_stream.detection.decide import decide
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.lda import AGENT_MESSAGES, agent_reason
from bounce_stream.detection.reasons import Reason


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        ('procmail: Quota exceeded while writing "/var/mail/amy"', Reason.MAILBOXFULL),
        ('procmail: No space left to finish writing "/var/mail/amy"', Reason.SYSTEMFULL),
        ('procmail: Lock failure on "/var/mail/amy.lock"', Reason.MAILERERROR),
        ("maildrop: maildir over quota.", Reason.MAILBOXFULL),
        ("maildrop: Timeout quota exceeded.", Reason.MAILERERROR),
        ("mail.local: unknown user: amy", Reason.USERUNKNOWN),
        ("mail.local: Disc quota exceeded", Reason.MAILBOXFULL),
        ("mail.local: temporary file write error", Reason.SYSTEMERROR),
        ("vdelivermail: Sorry, no mailbox here by that name. (#5.1.1)", Reason.USERUNKNOWN),
        ("vdelivermail: user is over quota", Reason.MAILBOXFULL),
        ("vdeliver: Invalid or unknown virtual user 'amy'", Reason.USERUNKNOWN),
        ("vdeliver: Delivery failed due to system quota violation", Reason.MAILBOXFULL),
        (
            "Your message to <amy@example.org> was automatically rejected: "
            "Quota exceeded (mailbox for user is full)",
            Reason.MAILBOXFULL,
        ),
        ("lda(amy): Error: Mailbox doesn't exist: INBOX", Reason.USERUNKNOWN),
        ('Command died with status 1: "/usr/bin/foo". Command output: oops', Reason.MAILERERROR),
        ('Command time limit exceeded: "/usr/local/bin/filter"', Reason.MAILERERROR),
        ("mail forwarding loop for amy@example.org", Reason.NETWORKERROR),
        ("lda(amy): Error: Not enough disk quota", Reason.MAILBOXFULL),
        ("lda(amy): Error: Not enough disk space", Reason.MAILBOXFULL),
        ("vdelivermail: mailbox is full", Reason.MAILBOXFULL),
        ("procmail: mailbox full", Reason.MAILBOXFULL),
        ("mail.local: user unknown", Reason.USERUNKNOWN),
        ("maildrop: Cannot find system user.", Reason.USERUNKNOWN),
        ("vdeliver: Invalid or unknown base user or domain", Reason.USERUNKNOWN),
        ("vdeliver: User name does not refer to a virtual user", Reason.USERUNKNOWN),
        ("mail.local: invalid mailbox path", Reason.USERUNKNOWN),
        ("mail.local: user missing home directory", Reason.USERUNKNOWN),
        ("vdelivermail: account is locked email bounced", Reason.SUSPEND),
        (
            "cannot update mailbox /var/mail/amy for user amy. error writing message: "
            "Disk quota exceeded",
            Reason.MAILBOXFULL,
        ),
        ("cannot append message to file /home/amy/mbox: File too large", Reason.MAILBOXFULL),
        ("maildir delivery failed: error writing message: Permission denied", Reason.MAILERERROR),
        (
            'Command died with status 75: "/usr/bin/procmail". Command output: '
            "procmail: No space left on device",
            Reason.MAILBOXFULL,
        ),
    ],
)
def test_agent_wording_gives_its_reason(diagnostic: str, reason: Reason) -> None:
    """Each agent's own sentence maps to what it says; an unknown agent sentence is mailererror."""
    assert agent_reason(diagnostic) is reason


@pytest.mark.parametrize(
    "diagnostic",
    [
        "550 5.1.1 <amy@example.org>: Recipient address rejected: User unknown",
        "552 5.2.2 Mailbox full",
        "host mx.example.org said: 554 delivery error: dd This user doesn't have an account",
        "",
    ],
)
def test_remote_replies_are_not_agent_output(diagnostic: str) -> None:
    """Text that names no local agent is left to the ordinary reason rules."""
    assert agent_reason(diagnostic) is None


def test_xunix_text_is_read_but_not_defaulted() -> None:
    """An X-Unix diagnostic's known sentence decides; an unknown one is left to the status."""
    assert agent_reason("Invalid user specified.", "x-unix") is Reason.USERUNKNOWN
    assert agent_reason("77", "X-Unix") is None


def test_every_table_row_is_reachable() -> None:
    """No row of the table is shadowed by an earlier row (first match wins)."""
    for index, (phrase, reason) in enumerate(AGENT_MESSAGES):
        assert agent_reason("procmail: " + phrase) is reason, (index, phrase)


def test_status_still_beats_the_agent_hint() -> None:
    """A specific status (5.1.1) decides over the agent's weaker reading of its own text."""
    evidence = Evidence(recipient="amy@example.org", diagnostic="procmail: oops", status="5.1.1")
    evidence.hint = agent_reason(evidence.diagnostic)
    assert decide(evidence)[0] is Reason.USERUNKNOWN
