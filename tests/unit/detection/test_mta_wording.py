"""Fixed MTA wording: stage sentences name the failed SMTP command, own sentences a reason."""

from __future__ import annotations

import pytest

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
