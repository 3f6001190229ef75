"""qmail's fixed wording: stage sentences name the SMTP command that failed."""

from __future__ import annotations

import pytest

from bounce_stream.detection.mta.qmail import qmail_stage


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
