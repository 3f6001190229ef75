"""Cheap prefilters (detector keywords, the original-message marker's word test) never hide a
match of the raw pattern they guard: each is checked against the unfiltered regex itself."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection import ParseOptions, parse
from bounce_stream.detection.context import MAX_MARKER_SEARCH, ORIGINAL_MARKER, Context
from bounce_stream.detection.mime import parse_entity
from bounce_stream.detection.mta.signals import human_reply
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.registry import REGISTRY

TEXT_BOUNCES = [
    detector
    for detector in REGISTRY
    if isinstance(detector, TextBounce) and type(detector).claims is TextBounce.claims
]

# Phrases the text detectors' signatures are written from (their MTAs' wording).
PHRASES = [
    "The problem appears to be",
    "could not be delivered because of",
    "The following recipients were affected:",
    "This is the qmail-send program",
    "I'm afraid I wasn't able to deliver your message",
    "This message was created automatically by mail delivery software",
    "Delivery to the following recipients failed",
    "Delivery to the following recipient has been delayed",
    "did not reach the following recipient",
    "was not delivered to:",
    "--- Failure Reasons ---",
    "----- Transcript of session follows -----",
    "Sorry, we were unable to deliver your message",
    "Unable to deliver message to the following address",
    "Postfix SMTP server: errors from",
    "Unknown user: a@example.com",
    "Invalid final delivery userid: a@example.com",
    "a message that you sent could not be delivered",
    "Error message below: x Message details:",
    "could not be delivered to:",
    "Original message follows",
    "Below this line is a copy of the message",
    "The original message headers are",
    "Returned message follows",
]
# What may stand between two words: wrapped lines, tabs, double spaces.
GAPS = [" ", "  ", "\t", "\n", "\n  ", " \n\t"]
NOISE = ["", "x", "\n\n", "550 5.1.1 ", "a@example.com", "\u0130", "\u017f", "K"]


@st.composite
def spaced_phrase(draw: st.DrawFn) -> str:
    """One known phrase with any white space between its words, in any letter case."""
    words = draw(st.sampled_from(PHRASES)).split(" ")
    text = words[0]
    for word in words[1:]:
        text += draw(st.sampled_from(GAPS)) + word
    case = draw(st.sampled_from([str, str.upper, str.lower, str.title]))
    return case(text)


@st.composite
def report(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(spaced_phrase(), st.sampled_from(NOISE)), max_size=6))
    return "\n".join(parts)


def _context(body: str, subject: str = "x") -> Context:
    return Context(parse_entity(f"From: a@b.example\nSubject: {subject}\n\n" + body))


@settings(max_examples=1500, deadline=None)
@given(report())
def test_keywords_never_hide_a_signature_match(body: str) -> None:
    """A text detector claims exactly the messages its raw signature matches, wrapped or not."""
    ctx = _context(body)
    for detector in TEXT_BOUNCES:
        raw = not human_reply(ctx) and detector.signature.search(ctx.probe) is not None
        assert detector.claims(ctx) == raw, (detector.name, body)


@settings(max_examples=1500, deadline=None)
@given(report())
def test_marker_prefilter_never_hides_a_marker(body: str) -> None:
    """The original-message marker is found wherever the raw marker pattern matches."""
    ctx = _context(body)
    found = ORIGINAL_MARKER.search(ctx.body_text[:MAX_MARKER_SEARCH])
    expected = (found.start(), found.end()) if found else None
    assert ctx._marker == expected, body


def test_marker_with_a_tab_inside_cuts_the_report() -> None:
    """ "Original<TAB>message follows" ends the report like its single-spaced form."""
    ctx = _context("550 5.1.1 user unknown\n\nOriginal\tmessage follows\n\nMessage-ID: <m@x>\n")
    assert ctx.report_text == "550 5.1.1 user unknown\n\n"
    assert ctx.original is not None and ctx.original.get("message-id") == "<m@x>"


MIMECAST = """\
From: Mimecast Alerts <DoNotReply@example.mimecast.test>
To: sender@example.org
Subject: Email Delivery Failure
Message-ID: <alert-1@example.mimecast.test>

This is an automated alert notification. Please do not reply.

An email that you attempted to send to the following address could not be
delivered:
-- rcpt@example.net

The problem
  appears to be :
-- Recipient email address is possibly incorrect

Additional information follows :
-- 550 5.1.1 User unknown
"""


def test_wrapped_mimecast_phrase_still_yields_its_event() -> None:
    """A Mimecast alert whose "The problem appears to be" is wrapped is still read."""
    result = parse(MIMECAST.encode(), ParseOptions())
    assert [(b.recipient, b.detected_by, b.status) for b in result.bounces] == [
        ("rcpt@example.net", "mimecast", "5.1.1")
    ]
