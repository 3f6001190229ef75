"""Fixed MTA wording: stage sentences name the failed SMTP command, own sentences a reason."""

from __future__ import annotations

import pytest

from bounce_stream.detection import parse
from bounce_stream.detection.mta.courier import Courier
from bounce_stream.detection.mta.fml import fml_reason
from bounce_stream.detection.mta.imail import imail_stage
from bounce_stream.detection.mta.qmail import Qmail, qmail_stage
from bounce_stream.detection.reasons import Reason


@pytest.mark.parametrize(
    ("sentence", "command"),
    [
        ("Connected to 192.0.2.1 but greeting failed.", "CONN"),
        ("Connected to mx.example.org but my name was rejected.", "EHLO"),
        ("Connected to mx.example.org but sender was rejected.", "MAIL"),
        ("192.0.2.1 does not like recipient.", "RCPT"),
        ("mx.example.org failed on DATA command.", "DATA"),
        ("mx.example.org failed after I sent the message.", "DATA"),
        ("Sorry, I couldn't find any host named nowhere.example. (#5.1.2)", None),
    ],
)
def test_stage_sentence_names_the_command(sentence: str, command: str | None) -> None:
    """Each qmail-remote stage sentence maps to the SMTP command that failed; others to none."""
    assert qmail_stage("Some text. " + sentence + "\nRemote host said: 550 no") == command


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("Sorry, no mailbox here by that name. (#5.1.1)", Reason.USERUNKNOWN),
        ("Connected to 192.0.2.1 but sender was rejected.", Reason.REJECTED),
        ("Mailaddress is administrativley disabled. (#5.2.1)", Reason.SUSPEND),
        ("The message exeeded the maximum size the user accepts. (#5.2.3)", Reason.EXCEEDLIMIT),
        ("Automatic homedir creator crashed. (#4.3.0)", Reason.SYSTEMERROR),
        ("Illegal value in LDAP attribute. (#5.3.5)", Reason.SYSTEMERROR),
        ("LDAP attribute is not given but mandatory. (#5.3.5)", Reason.SYSTEMERROR),
        ("Timeout while performing search on LDAP server. (#4.4.3)", Reason.SYSTEMERROR),
        ("Too many results returned but needs to be unique. (#5.3.5)", Reason.SYSTEMERROR),
        ("Permanent error while executing qmail-forward. (#5.4.4)", Reason.SYSTEMERROR),
        ("Temporary error in automatic homedir creation. (#4.3.0)", Reason.SYSTEMERROR),
        ("Temporary error while executing qmail-forward. (#4.4.4)", Reason.SYSTEMERROR),
        ("Temporary failure in LDAP lookup. (#4.4.3)", Reason.SYSTEMERROR),
        ("Unable to contact LDAP server. (#4.4.3)", Reason.SYSTEMERROR),
        ("Unable to login into LDAP server, bad credentials. (#4.4.3)", Reason.SYSTEMERROR),
    ],
)
def test_qmail_and_qmail_ldap_sentences_have_their_meaning(sentence: str, reason: Reason) -> None:
    """qmail's and qmail-ldap's own sentences give the reason they state."""
    assert Qmail().hint(sentence) is reason


@pytest.mark.parametrize(
    ("phrase", "command"),
    [
        ("SMTP connection failed, connection refused", "CONN"),
        ("Unexpected connection response from server: 421 busy", "CONN"),
        ("Unexpected response to EHLO/HELO: 501 syntax", "EHLO"),
        ("Server response to MAIL FROM: 553 sender rejected", "MAIL"),
        ("Additional RCPT TO generated following response: 550 no such user", "RCPT"),
        ("DATA command generated response: 554 rejected", "DATA"),
        ("Unknown user", None),
    ],
)
def test_imail_stage_phrase_names_the_command(phrase: str, command: str | None) -> None:
    """Each IMail stage phrase maps to the SMTP command that failed."""
    assert imail_stage(phrase) == command


@pytest.mark.parametrize(
    ("notice", "reason"),
    [
        ("NOT MEMBER article from a@example.org <list@example.org>.", Reason.REJECTED),
        ("Ignored NOT MEMBER article from a@example.org", Reason.REJECTED),
        ("reject mail from a@example.org", Reason.REJECTED),
        ("reject since From: header may cause mail loop", Reason.REJECTED),
        ("reject spammers: a@example.org", Reason.REJECTED),
        ("You are not a member of this mailing list <list@example.org>.", Reason.REJECTED),
        ("Spam mail from a spammer is rejected", Reason.REJECTED),
        ("Duplicated Message-ID in <list@example.org>.", Reason.SYSTEMERROR),
        ("fml <list@example.org> has detected a loop condition so that", Reason.SYSTEMERROR),
        ("Loop Back Warning: <list@example.org>.", Reason.SYSTEMERROR),
        ("Loop Alert: <list@example.org>.", Reason.SYSTEMERROR),
        ("WARNING: UNIX FROM Loop", Reason.SYSTEMERROR),
        ("fml system error message", Reason.SYSTEMERROR),
        ("Security alert: <list@example.org>.", Reason.SECURITYERROR),
        ("Hello <list@example.org>.", None),
    ],
)
def test_fml_refusals_have_their_meaning(notice: str, reason: Reason | None) -> None:
    """fml's refusal wordings map to rejected, systemerror or securityerror."""
    assert fml_reason(notice) is reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<<< No such domain.", Reason.HOSTUNKNOWN),
        ("<<< DNS lookup failed.", Reason.NETWORKERROR),
        ("<<< This domain's DNS violates RFC 1035.", Reason.SYSTEMERROR),
        ("<<< Network is down", Reason.NETWORKERROR),
        ("<<< Connection refused", Reason.NETWORKERROR),
        ("<<< No route to host", Reason.NETWORKERROR),
    ],
)
def test_courier_own_sentences_have_their_meaning(text: str, reason: Reason) -> None:
    """Courier's own per-recipient errors give the reason they state."""
    assert Courier().hint(text) is reason


def _amavis_notice(problem: str) -> bytes:
    """An amavisd-new non-delivery notice as its template-dsn.txt lays it out, with its DSN."""
    return f"""\
From: "Content-filter at example.org" <postmaster@example.org>
To: <sender@example.com>
Subject: Undeliverable mail, invalid header section
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The message WAS NOT relayed to:
  <rcpt@example.org>:
   554 5.6.0 Reject, id=12345-01 - BAD HEADER SECTION

This nondelivery report was generated by the program amavisd-new at host
example.org. Our internal reference code for your message is 12345-01/AbCd

INVALID HEADER

  {problem}

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; example.org

Final-Recipient: rfc822; rcpt@example.org
Action: failed
Status: 5.7.0
Diagnostic-Code: smtp; 554 5.7.0 Reject, id=12345-01 - SPAM

--B--
""".encode()


@pytest.mark.parametrize(
    "problem",
    [
        'Duplicate header field: "From"',
        'Header field occurs more than once: "To" occurs 3 times',
        'Missing required header field: "Date"',
        "Improper folded header field made up entirely of whitespace: Subject: x",
        "Header line longer than 998 characters: Subject: aaaa[...]",
        "Improper use of control character (char 0D hex): Subject: a\\rb",
        "Non-encoded non-ASCII data (and not UTF-8) (char E9 hex): Subject: caf\\xe9",
        "Non-encoded UTF-8 string in non-EAI mail: Subject: caf\\xc3\\xa9",
        "Invalid header field syntax: --broken",
    ],
)
def test_amavis_header_problems_make_the_message_not_rfc_compliant(problem: str) -> None:
    """The header problems amavisd-new lists beside its DSN (its header checks' wording) are
    RFC 5322 violations: notcompliantrfc, even where its DSN reply says SPAM."""
    (bounce,) = parse(_amavis_notice(problem)).bounces
    assert (bounce.reason, bounce.status) == (Reason.NOTCOMPLIANTRFC, "5.7.0")


def test_amavis_notice_without_header_problems_keeps_its_reply() -> None:
    """Without a listed header problem the DSN's own reply decides (spam here)."""
    (bounce,) = parse(_amavis_notice("(none)")).bounces
    assert bounce.reason is Reason.SPAMDETECTED
