"""Reading recipients and their diagnostics out of human-readable bounce text.

Most non-DSN bounces list each failed address on a line of its own (``<a@b>:``,
``  a@b``, ``"a@b":``, ``a@b on <date>``, ``>>> a@b``) followed by the error text.
``recipient_blocks`` finds those lines and returns the text under each one.
"""

from __future__ import annotations

import re

from bounce_stream.detection.decide import match_text
from bounce_stream.detection.headers import ADDRESS_RE
from bounce_stream.detection.textutil import squeeze

MAX_DIAGNOSTIC_CHARS = 2_000
# "--- Transcript of session follows ---". Only where a match ends is used, and one from the
# first dash of a run ends where one from its last dash does: starting with a single dash
# spares the regex engine retrying every shorter run of dashes at every dash.
_TRANSCRIPT = re.compile(r"(?i)-\s*transcript\s+of\s+session\s+follows\s*-+")
_TRANSCRIPT_LOWER = re.compile(_TRANSCRIPT.pattern.removeprefix("(?i)"))
# Where the transcript ends (the start of a match at a line start).
_SECTION_END_BODY = (
    r"(?:[^\S\n]*-{3,}\s*(?:unsent\s+message|original\s+message|message\s+header)|"
    r"(?:reporting-mta|final-recipient|original-recipient|received-from-mta|arrival-date):)"
)
_SECTION_END = re.compile(r"(?im)^" + _SECTION_END_BODY)
# The same after a newline, for matches past the first line: a literal first character lets
# the regex engine skip from line to line instead of trying every position. The lower-case
# forms find the same in lower-cased ASCII text, faster.
_SECTION_END_AFTER_NEWLINE = re.compile(r"(?i)\n" + _SECTION_END_BODY)
_SECTION_END_LOWER = re.compile(r"(?m)^" + _SECTION_END_BODY)
_SECTION_END_AFTER_NEWLINE_LOWER = re.compile(r"\n" + _SECTION_END_BODY)
_BLANKS_THEN_DASH = re.compile(r"[^\S\n]*+-")
MAX_RECIPIENTS = 500

_ADDR = ADDRESS_RE.pattern
# Runs of blanks are possessive: what follows each never starts with a blank, so giving one
# back cannot make a match, and retrying every split of a long blank run was quadratic.
RECIPIENT_LINE = re.compile(
    r"^[ \t]*+(?:>>>[ \t]*+|[245]\d\d[ \t-]++|[*\u2022-][ \t]++)?"
    r"(?:(?:rcpt(?:[ \t]+to)?|recipient(?:[ \t]+address)?|address)[ \t]*:[ \t]*+)?"
    r"[\"'<(]?[ \t]*+"
    r"(" + _ADDR + r")[ \t]*+[\"'>)]?[ \t]*+"
    r"(?:(?::|\.\.\.|,)[ \t]*(.*)|on[ \t]+\S.*|\([^)\n]*\)[ \t]*:?[ \t]*(.*)|<[^>\n]*>[ \t]*:?(.*)|"
    r"(\[[^\]\n]*\].*)|)$",
    re.IGNORECASE | re.MULTILINE,
)
# "Invalid final delivery userid: a@b" (IMail and friends): the reason, then the address.
TRAILING_RECIPIENT = re.compile(
    r"^[ \t]*(?!(?:from|to|cc|bcc|reply-to|sender|return-path|delivered-to|x-[\w-]+)[ \t]*:)"
    r"([^:\n<>@]{3,80}):[ \t]*+<?(" + _ADDR + r")>?[ \t]*+\.?[ \t]*+$",
    re.IGNORECASE | re.MULTILINE,
)


_QUOTED_ADDR = r"[<\"'(]?(" + _ADDR + r")[>\"')]?"
_NOT = (
    r"(?:could\s+not|couldn[\'\u2019]t|cannot|can[\'\u2019]t|was\s+not|wasn[\'\u2019]t|"
    r"has\s+not\s+been|is\s+not|will\s+not)"
)
# The sentences failure notices name a recipient in (Exchange/Outlook "Your message to a@b
# couldn't be delivered", Gmail "Your message wasn't delivered to a@b", Postfix/Exim style
# "Delivery to a@b failed", "could not be delivered to a@b"): the address stands between a
# delivery phrase and a failure phrase, or after a failure phrase and "to".
SENTENCE_RECIPIENT = re.compile(
    r"(?i)\b(?:(?:message|mail|e-?mail)\s+(?:(?:that\s+)?you\s+sent\s+|sent\s+)?to|"
    r"delivery\s+(?:of\s+(?:your|the)\s+message\s+)?to)[ \t]+" + _QUOTED_ADDR + r"[ \t,]*"
    r"(?:\([^)\n]{0,80}\)[ \t]*)?(?:" + _NOT + r"|failed|has\s+failed|bounced|"
    r"is\s+undeliverable|was\s+(?:rejected|returned|undeliverable)|could\s+not)"
    r"|\b(?:" + _NOT + r"\s+be\s+delivered|" + _NOT + r"\s+delivered|"
    r"(?:unable|failed)\s+to\s+deliver(?:\s+(?:your|the)\s+(?:message|mail))?|"
    r"undeliverable)\s+to[ \t]+" + _QUOTED_ADDR
)
MAX_SENTENCE_CHARS = 16_000


def sentence_recipients(text: str) -> list[str]:
    """Recipients named in the sentences of a notice (see SENTENCE_RECIPIENT), in order."""
    found = (
        (match.group(1) or match.group(2)).lower().strip(".")
        for match in SENTENCE_RECIPIENT.finditer(text[:MAX_SENTENCE_CHARS])
    )
    return list(dict.fromkeys(found))[:MAX_RECIPIENTS]


_HOST_NAME = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
_HOST_IP = r"(?:ipv6:)?[0-9a-f]{0,4}[:.][0-9a-f:.]{2,44}"
# Where the MTAs' text names the host that refused: Postfix ("host mx[192.0.2.1] said:",
# "refused to talk to me", "connect to mx[192.0.2.1]:25:", "lost connection with mx[...]",
# "conversation with mx[...] timed out"), Exim ("host mx [192.0.2.1]: 550 ..." or on a line of
# its own), qmail-remote ("Connected to 192.0.2.1 but sender was rejected.", "192.0.2.1 does
# not like recipient."), sendmail ("... while talking to mx.example.com.:") and the plain
# "host: mx" / "remote host: mx" lines of other notices. "\s++" and "\s*+" before a host name
# or "[": neither starts with white space, so nothing given back could match (adjacent "\s+",
# "\s*" over a blank run after "host" backtracked quadratically).
REMOTE_HOST = re.compile(
    r"(?i)\b(?:host|connect\s+to|lost\s+connection\s+with|conversation\s+with)\s++"
    r"(" + _HOST_NAME + r")?\s*+\[(" + _HOST_IP + r")\]"
    r"|\bconnected\s+to\s+(" + _HOST_NAME + r")\s+but\b"
    r"|(?:^|\n)[ \t]*(" + _HOST_IP + r")\s+does\s+not\s+like\s+recipient"
    r"|\bwhile\s+talking\s+to\s+(" + _HOST_NAME + r")\.?:"
    r"|\b(?:remote\s+)?host\s*:\s*\[?(" + _HOST_NAME + r")\]?"
)


def remote_host(text: str) -> str | None:
    """The remote host a bounce text names (its name, else its address); None if none."""
    found = REMOTE_HOST.search(text[:MAX_DIAGNOSTIC_CHARS])
    if found is None:
        return None
    name = next((group for group in found.groups() if group), None)
    return name.lower().rstrip(".") if name else None


def recipient_blocks(text: str, *, strict_lines: bool = False) -> list[tuple[str, str]]:
    """(address, diagnostic text) for every address line in ``text``, in order.

    The diagnostic is the rest of the address line plus the following lines up to the next
    address line or the first blank line after some text. ``strict_lines`` accepts only
    lines that consist of the address alone (optionally bracketed and colon-terminated).
    """
    matches = [
        match
        for match in address_lines(RECIPIENT_LINE, text)
        if not strict_lines or not (match.group(2) or "").strip()
    ][:MAX_RECIPIENTS]
    if not matches:
        return [
            (found.group(2).lower(), squeeze(found.group(1)))
            for found in address_lines(TRAILING_RECIPIENT, text)
        ][:MAX_RECIPIENTS]
    blocks: list[tuple[str, str]] = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        tail = _first_paragraph(text[match.end() : end])
        head = " ".join(group for group in match.groups()[1:] if group)
        blocks.append((match.group(1).lower().strip("."), squeeze(head + " " + tail)))
    return blocks


def address_lines(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """``list(pattern.finditer(text))`` for a ``(?m)^...$`` pattern whose every match is one
    whole line holding an address (an "@"), such as RECIPIENT_LINE and TRAILING_RECIPIENT.

    Speed: finditer tries the pattern at every line start (and, case-insensitive, slowly);
    most lines have no "@", and only the lines that have one are tried here. A match of such
    a pattern starts at a line start and ends at the end of that line, so the matches found
    line by line are finditer's.
    """
    found: list[re.Match[str]] = []
    at = text.find("@")
    while at >= 0:
        match = pattern.match(text, text.rfind("\n", 0, at) + 1)
        if match is not None:
            found.append(match)
        line_end = text.find("\n", at)
        if line_end < 0:
            break
        at = text.find("@", line_end)
    return found


def _first_paragraph(text: str) -> str:
    """Lines up to the first blank line that follows some text."""
    lines: list[str] = []
    for line in text[: MAX_DIAGNOSTIC_CHARS * 2].split("\n"):
        if not line.strip():
            if lines:
                break
            continue
        lines.append(line.strip())
    return " ".join(lines)[:MAX_DIAGNOSTIC_CHARS]


def diagnostic_near(text: str, address: str) -> str:
    """The paragraph of ``text`` that mentions ``address`` (empty when it is not there)."""
    if not address or not text:
        return ""
    lowered = text.lower()
    at = lowered.find(address)
    if at < 0:
        return ""
    start = lowered.rfind("\n\n", 0, at)
    start = 0 if start < 0 else start + 2
    end = lowered.find("\n\n", at)
    end = len(text) if end < 0 else end
    return squeeze(text[start:end])[:MAX_DIAGNOSTIC_CHARS]


def unique_blocks(blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop repeated addresses, merging their diagnostics into the first occurrence."""
    merged: dict[str, str] = {}
    for address, diagnostic in blocks:
        if address in merged:
            if diagnostic and diagnostic not in merged[address]:
                merged[address] = (merged[address] + " " + diagnostic).strip()
        else:
            merged[address] = diagnostic
    return list(merged.items())


def session_transcript(text: str) -> str:
    """The SMTP session transcript sendmail-like MTAs write, or an empty string."""
    if text.isascii():  # same offsets: the case-sensitive patterns on lower case are faster
        lowered = text.lower()
        found = _TRANSCRIPT_LOWER.search(lowered) if "transcript" in lowered else None
        if found is None:
            return ""
        rest = text[found.end() :]
        end = _section_end(
            lowered[found.end() :], _SECTION_END_LOWER, _SECTION_END_AFTER_NEWLINE_LOWER
        )
    else:
        found = _TRANSCRIPT.search(text)
        if found is None:
            return ""
        rest = text[found.end() :]
        end = _section_end(rest, _SECTION_END, _SECTION_END_AFTER_NEWLINE)
    return rest[:end] if end >= 0 else rest[:4000]


def _section_end(text: str, at_line_start: re.Pattern[str], after_newline: re.Pattern[str]) -> int:
    """Where ``at_line_start`` (a ``(?m)^`` pattern) first matches in ``text``, found with its
    ``after_newline`` form; -1 when nowhere."""
    if at_line_start.match(text) is not None:  # ^ holds at position 0
        return 0
    found = after_newline.search(text)
    return _blank_lines_start(text, found.start() + 1) if found is not None else -1


def _blank_lines_start(text: str, line: int) -> int:
    """The start of the blank lines right above a dashes ``line`` that ``^\\s*-{3,}`` would
    reach it from. The patterns take blanks on the dashes line only: from every line of a long
    run of blank lines, ``\\s*`` rescanned the rest of the run (quadratic)."""
    if _BLANKS_THEN_DASH.match(text, line) is None:
        return line
    while line > 0:
        previous = text.rfind("\n", 0, line - 1) + 1
        blank = text[previous : line - 1]
        if blank and not blank.isspace():
            break
        line = previous
    return line


def lines_about(transcript: str, address: str, *, with_agents: bool = True) -> str:
    """The transcript lines about ``address``: the server replies of the SMTP session in
    which it failed plus the line naming it (or every reply when it is not named)."""
    lines = [line.strip() for line in transcript.split("\n") if line.strip()]
    session: list[str] = []
    for line in lines:
        lowered = line.lower()
        if "while talking to" in lowered:
            session = []
            continue
        if address in lowered and not line.startswith(">>>"):
            # Server replies of this session; when the line about the address says nothing
            # specific, also local delivery agent output ("mail.local: unknown user").
            # Lines naming other addresses belong to other recipients.
            vague = with_agents and match_text(line.lower()) is None
            context = [
                previous
                for previous in session
                if previous.startswith("<<<") or (vague and ":" in previous and "@" not in previous)
            ]
            return squeeze(" ".join([*context, line]))[:2000]
        session.append(line)
    replies = [line for line in lines if line.startswith("<<<") or line[:3].isdigit()]
    return squeeze(" ".join(replies or lines))[:2000]


# A server reply in a transcript that refuses: "<<< 554 ...", "<<< 421-4.7.0 ...".
_REFUSAL = re.compile(r"<<<[ \t]*[45]\d\d(?:[ \t-]|$)")


def command_about(transcript: str, address: str) -> str | None:
    """The SMTP command (``>>> RCPT To:``...) the first refusal answered in the session where
    ``address`` failed; ``CONN`` when the server refused before any command was sent.

    Sendmail writes ">>> COMMAND" before the reply to it (usersmtp.c); a "<<<" refusal right
    after "... while talking to host:" is the server's greeting. A command sent after the
    refusal (">>> QUIT") is not what failed.
    """
    command = None  # the last command sent in this session
    failed_at = None  # what the session's first refusal answered
    for line in transcript.split("\n"):
        stripped = line.strip()
        lowered = stripped.lower()
        if "while talking to" in lowered:
            command = failed_at = None
        elif stripped.startswith(">>>"):
            verb = stripped[3:].strip().split(" ", 1)[0].split(":", 1)[0].upper()
            command = {"HELO": "EHLO"}.get(verb, verb) or None
        else:
            if failed_at is None and _REFUSAL.match(stripped):
                failed_at = command or "CONN"
            if address in lowered:
                return failed_at or command
    return failed_at or command
