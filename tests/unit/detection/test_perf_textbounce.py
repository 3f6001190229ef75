"""TextBounce's fast forms find exactly what the plain case-insensitive searches find."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection.context import Context
from bounce_stream.detection.mime import parse_entity
from bounce_stream.detection.mta import exim
from bounce_stream.detection.mta.signals import human_reply
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.registry import REGISTRY

SAMPLES = Path(__file__).parent / "samples"
TEXT_BOUNCES = [detector for detector in REGISTRY if isinstance(detector, TextBounce)]


def _plain_section(detector: TextBounce, text: str) -> str:
    if detector.start is not None:
        found = detector.start.search(text)
        if found is not None:
            text = text[found.end() :]
    if detector.end is not None:
        found = detector.end.search(text)
        if found is not None:
            text = text[: found.start()]
    return text


def _plain_claims(detector: TextBounce, ctx: Context) -> bool:
    return not human_reply(ctx) and detector.signature.search(ctx.probe) is not None


def _context(body: str) -> Context:
    return Context(parse_entity("From: a@b.example\nSubject: x\n\n" + body))


def _assert_same_sections(body: str) -> None:
    for detector in TEXT_BOUNCES:
        ctx = _context(body)
        assert detector.section(ctx) == _plain_section(detector, ctx.report_text), (
            detector.name,
            body,
        )
        if type(detector).claims is TextBounce.claims:
            assert detector.claims(ctx) == _plain_claims(detector, ctx), (detector.name, body)


def test_exim_start_ascii_is_start_without_its_russian_wording() -> None:
    assert exim.Exim.start is not None and exim.Exim.start_ascii is not None
    tail = ")[^\\n]*\\n"
    assert exim.Exim.start_ascii.pattern.endswith(tail)
    assert exim.Exim.start.pattern == (
        exim.Exim.start_ascii.pattern.removesuffix(tail) + "|" + exim._START_RUSSIAN + tail
    )
    # No letter of the Russian wording matches an ASCII character, in any case.
    letters = re.sub(r"\\s[+*]|[|]", "", exim._START_RUSSIAN).replace(" ", "")
    assert letters and not any(char.lower().isascii() or char.upper().isascii() for char in letters)


FRAGMENTS = [
    "The following address(es) failed:\n",
    "could not be delivered to one or more of its recipients.\n",
    "has not yet been delivered\n",
    "следующим получателям\n",
    "Delivery to the following recipient failed permanently:\n",
    "Technical details of permanent failure:\n",
    "was not delivered to: x\n",
    "  because: no\n",
    "------- Failure Reasons --------\n",
    "------- Returned Message --------\n",
    "--- Transcript of session follows ---\n",
    "----- Original message -----\n",
    "did not reach the following recipient(s):\n",
    "to the following addresses:\n",
    "  a@b.example\n",
    "\n",
    " ",
    "Ä",
    "\u0130",
    "\u017f",
    "\u212a",
    "x",
    "This message was created automatically by mail delivery software.\n",
    "qmail-send program\n",
    "DragonFly Mail Agent\n",
    "MAIL.RU\n",
    "и",
]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12))
def test_section_is_the_plain_search(parts: list[str]) -> None:
    _assert_same_sections("".join(parts))


def test_section_is_the_plain_search_on_samples() -> None:
    for path in sorted(SAMPLES.glob("*.eml")):
        raw = path.read_bytes().decode("latin-1")
        ctx = Context(parse_entity(raw))
        for detector in TEXT_BOUNCES:
            plain = _plain_section(detector, ctx.report_text)
            assert detector.section(ctx) == plain, (detector.name, path.name)
            if type(detector).claims is TextBounce.claims:
                assert detector.claims(ctx) == _plain_claims(detector, ctx), path.name
