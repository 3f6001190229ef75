"""Detection patterns rewritten to run in linear time find what the old patterns found.

Each rewrite is compared with the pattern it replaced (kept here, verbatim) on generated
text built from the pieces that pattern cares about: the same match spans and groups, from
every start position. Each old pattern also gets a hostile input on which it backtracked for
seconds; the rewrite must handle a larger one well inside a generous bound (speed figures live
in benchmarks/audit_regexes.py, not here).
"""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection import context, decide
from bounce_stream.detection.mta import exim, interscan, mailfoundry, qmail, rfc3834, textscan
from bounce_stream.detection.reasontext.matcher import alternatives
from bounce_stream.detection.reasontext.policy import SECURITYERROR

BOUND_SECONDS = 2.0


def same_matches(old: re.Pattern[str], new: re.Pattern[str], text: str) -> None:
    """Assert ``new`` finds the spans and groups ``old`` finds in ``text``, from every start."""
    for start in range(len(text) + 1):
        found_old, found_new = old.search(text, start), new.search(text, start)
        assert (found_old is None) == (found_new is None), (text, start)
        if found_old is not None and found_new is not None:
            assert found_old.span() == found_new.span(), (text, start)
            assert found_old.groups() == found_new.groups(), (text, start)


def same_found(old: re.Pattern[str], new: re.Pattern[str], text: str) -> None:
    """Assert ``new`` finds a match in ``text`` from every start where ``old`` finds one."""
    for start in range(len(text) + 1):
        found = old.search(text, start) is not None
        assert (new.search(text, start) is not None) == found, (text, start)


def greedy_form(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` as it was written before: "\\s*" for "(?<!\\s)\\s*+" and "\\s*+"."""
    return re.compile(pattern.pattern.replace(r"(?<!\s)\s*+", r"\s*").replace(r"\s*+", r"\s*"))


def search_seconds(pattern: re.Pattern[str], text: str) -> float:
    started = time.perf_counter()
    pattern.search(text)
    return time.perf_counter() - started


_BLANKS = [" ", "\n", "\t", "     ", "\r", "\xa0", "\n\n"]

_OLD_HE_HER = re.compile(r"(?i)he/her\s+is\s+not\s+[^\n]{1,80}\s+user")
_NEW_HE_HER = re.compile(r"(?i)he/her\s+is\s+not" + qmail._blanks_text_blanks(80) + "user")
_OLD_HI = re.compile(r"(?i)hi\.\s+[^\n]{1,120}\s+unable\s+to\s+deliver")
_NEW_HI = re.compile(r"(?i)hi\." + qmail._blanks_text_blanks(120) + r"unable\s+to\s+deliver")


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from([*_BLANKS, "x", "user", "USER", "he/her is not", "a" * 70, "hi."]),
        max_size=14,
    )
)
def test_qmail_clone_he_her_intro_finds_what_the_backtracking_pattern_found(
    pieces: list[str],
) -> None:
    """The linear "he/her is not ... user" introduction matches where the old pattern did."""
    same_matches(_OLD_HE_HER, _NEW_HE_HER, "".join(pieces))


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from([*_BLANKS, "x", "hi.", "HI.", "a" * 100, " unable to deliver"]),
        max_size=14,
    )
)
def test_qmail_clone_hi_intro_finds_what_the_backtracking_pattern_found(pieces: list[str]) -> None:
    """The linear "Hi. ... unable to deliver" introduction matches where the old pattern did."""
    same_matches(_OLD_HI, _NEW_HI, "".join(pieces))


def test_qmail_clone_intros_are_linear_in_runs_of_white_space() -> None:
    """X4's introductions scan 100 kB of blanks once (2.4 kB took 3-5 s before)."""
    for text in ("he/her is not", "hi.", "he/her is not x", "hi. x"):
        for run in (" " * 100_000, " \t\n" * 33_000):
            for pattern in (qmail.X4.signature, qmail.X4.start):
                assert search_seconds(pattern, text + run) < BOUND_SECONDS


_OLD_INTERSCAN = re.compile(r"(?i)interscan\s+(?:mss|notification)|(?m:^)\s*sent\s+<<<\s+[a-z]{4}")
_LEADING_BLANKS = (exim._RETRY_EXPIRED, mailfoundry._REASON_HEAD, qmail._LOCAL_FAILURE)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from([*_BLANKS, "x", "sent", "SENT", " <<< ", "<<<", "rcpt", "interscan mss"]),
        max_size=14,
    )
)
def test_interscan_signature_finds_a_sent_line_where_the_old_pattern_did(
    pieces: list[str],
) -> None:
    """The InterScan signature matches (from any start) exactly where "(?m:^)\\s*sent" did."""
    same_found(_OLD_INTERSCAN, interscan.InterScanMss.signature, "".join(pieces))


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *_BLANKS,
                "x",
                "re:",
                "RE:",
                "[",
                "]",
                "\u3010",
                ":",
                "-",
                "auto",
                "reply",
                "out of office",
                "vacation",
                "\u81ea\u52d5\u5fdc\u7b54",
                "automatic reply",
            ]
        ),
        max_size=12,
    )
)
def test_auto_reply_subject_finds_what_the_backtracking_pattern_found(pieces: list[str]) -> None:
    """The possessive auto-reply subject test matches the spans the greedy one matched."""
    same_matches(greedy_form(rfc3834._AUTO_SUBJECT), rfc3834._AUTO_SUBJECT, "".join(pieces))


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *_BLANKS,
                "x",
                "unable to ",
                "retry timeout exceeded",
                "all hosts have been failing",
                "delivery failed for the following reason:",
                "Delivery  failed",
                "reason:",
            ]
        ),
        max_size=12,
    )
)
def test_leading_white_space_patterns_find_what_the_greedy_ones_found(pieces: list[str]) -> None:
    """Exim's retry expiry, qmail's local failure, MailFoundry's reason head: same matches."""
    text = "".join(pieces)
    for pattern in _LEADING_BLANKS:  # used on whole strings: match, search, sub from 0
        greedy = greedy_form(pattern)
        for found_old, found_new in (
            (greedy.match(text), pattern.match(text)),
            (greedy.search(text), pattern.search(text)),
        ):
            assert (found_old and found_old.span()) == (found_new and found_new.span())
        assert greedy.sub("", text, count=1) == pattern.sub("", text, count=1)


def test_leading_white_space_patterns_are_linear_in_blank_runs() -> None:
    """Searching 100 kB of blanks or empty lines is fast (19 kB took 1.5-86 s before)."""
    patterns = [*_LEADING_BLANKS, rfc3834._AUTO_SUBJECT, interscan.InterScanMss.signature]
    for run in (" " * 100_000 + "x", "\n" * 100_000 + "x", " \t\n" * 33_000 + "x"):
        for pattern in patterns:
            assert search_seconds(pattern, run) < BOUND_SECONDS


_OLD_NO_EVIDENCE = re.compile(
    r"<?[^\s<>]*@[^\s<>]*>?|\b[245]\d\d\b|\b[245]\.\d{1,3}\.\d{1,3}\b|\bsmtp\b"
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "@", "<", ">", " ", "\n", "550", "5.1.1", "smtp", ".", "-", "4"]),
        max_size=16,
    )
)
def test_no_evidence_pattern_removes_what_the_old_pattern_removed(pieces: list[str]) -> None:
    """decide's address/code pattern finds the old spans and substitutes the same text."""
    text = "".join(pieces)
    found = [match.span() for match in decide._NO_EVIDENCE.finditer(text)]
    assert found == [match.span() for match in _OLD_NO_EVIDENCE.finditer(text)]
    assert decide._NO_EVIDENCE.sub(" ", text) == _OLD_NO_EVIDENCE.sub(" ", text)


def test_no_evidence_pattern_is_linear_in_runs_without_at_sign() -> None:
    """100 kB without "@" is substituted fast (19 kB took 1.5 s before)."""
    for text in ("x" * 100_000, "<" + "a." * 50_000, "5" * 100_000):
        started = time.perf_counter()
        decide._NO_EVIDENCE.sub(" ", text)
        assert time.perf_counter() - started < BOUND_SECONDS


_OLD_FRENCH_AUTH = {
    "authentification": r"authentification[ ]requise.+[0-9a-z_]+402",
    "codes": r"codes?[ ]d'?[ ]*authentification[ ]invalide.+[0-9a-z_]+305",
}


def _new_french_auth(start: str) -> re.Pattern[str]:
    (found,) = [part for part in alternatives(SECURITYERROR.pattern) if part.startswith(start)]
    return re.compile(found)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "authentification requise",
                "code d'authentification invalide",
                "codes d ",
                "a",
                "_",
                "9",
                "402",
                "305",
                " ",
                "\n",
                "-",
                "x402",
            ]
        ),
        max_size=12,
    )
)
def test_french_authentication_phrases_find_what_the_old_ones_found(pieces: list[str]) -> None:
    """ "requise ... 402" and "invalide ... 305" match the spans they matched with "[0-9a-z_]+"."""
    text = "".join(pieces)
    for start, old in _OLD_FRENCH_AUTH.items():
        same_matches(re.compile(old), _new_french_auth(start), text)


def test_french_authentication_phrases_are_linear_in_the_line_after_them() -> None:
    """100 kB of word characters after the phrase is searched fast (19 kB took 0.2 s before)."""
    for start, phrase in (
        ("authentification", "authentification requise "),
        ("codes", "code d'authentification invalide "),
    ):
        pattern = _new_french_auth(start)
        for run in ("a" * 100_000, "a_9" * 33_000):
            assert search_seconds(pattern, phrase + run) < BOUND_SECONDS
    assert SECURITYERROR.matches("authentification requise (#5.7.1) smtp_auth402")


_OLD_REMOTE_HOST = re.compile(
    textscan.REMOTE_HOST.pattern.replace(r"\s++", r"\s+").replace(r"\s*+\[", r"\s*\[")
)
_OLD_BOUNCE_FROM_LINE = re.compile(context._BOUNCE_FROM_LINE.pattern.replace(r"[ \t]*+", r"[ \t]*"))


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *_BLANKS,
                "host",
                "connect to",
                "mx.example.org",
                "mx",
                ".",
                "[",
                "]",
                "192.0.2.1",
                ":25",
                "host:",
                "x",
            ]
        ),
        max_size=12,
    )
)
def test_remote_host_finds_what_the_backtracking_pattern_found(pieces: list[str]) -> None:
    """REMOTE_HOST with possessive blanks matches the old spans and host groups."""
    same_matches(_OLD_REMOTE_HOST, textscan.REMOTE_HOST, "".join(pieces))


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *_BLANKS,
                "from:",
                "From:",
                "> ",
                ">",
                "mailer-daemon",
                "postmaster",
                "x" * 90,
                "mail delivery system",
                "<",
                "@",
            ]
        ),
        max_size=12,
    )
)
def test_bounce_from_line_finds_what_the_backtracking_pattern_found(pieces: list[str]) -> None:
    """The quoted bounce From: line pattern matches the old spans and quote prefix."""
    same_matches(_OLD_BOUNCE_FROM_LINE, context._BOUNCE_FROM_LINE, "".join(pieces))


def test_remote_host_and_bounce_from_line_are_linear_in_blank_runs() -> None:
    """1 MB of blanks after "host" or "from:" is searched fast (19 kB: 0.1-0.3 s before)."""
    for pattern, lead in ((textscan.REMOTE_HOST, "host"), (context._BOUNCE_FROM_LINE, "from:")):
        for run in (" " * 1_000_000, " \t" * 500_000):
            assert search_seconds(pattern, lead + run) < BOUND_SECONDS
