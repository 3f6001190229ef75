"""Sendmail-style text bounces without a DSN part (V5 sendmail, old sendmail, clones).

Layout: "----- The following addresses had permanent fatal errors -----" listing the
addresses (each with its recorded ``(reason: 550 5.1.1 ...)``), then "----- Transcript of
session follows -----" with the SMTP dialogue (``>>> RCPT To:<a@b>`` / ``<<< 550 5.1.1 ...``
followed by sendmail's own verdict ``550 5.1.1 <a@b>... User unknown``), then "----- Unsent
message follows -----". Very old versions list no address at all: the recipient is then the
To: of the returned message.

Each address is read from the reply to its own RCPT command, else from the exchange whose
reply is its recorded reason (a refusal at MAIL or DATA), else from the transcript's lines
about it: in a session with several recipients, the earlier ones' replies are not its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import addresses_in, first_address
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.mta.textscan import command_about, lines_about, session_transcript
from bounce_stream.detection.textutil import squeeze

_SECTION_END = re.compile(
    r"(?im)^[^\S\n]*-{3,}\s*(?:unsent\s+message|original\s+message|message\s+header)"
)


class Sendmail(TextBounce):
    """Sendmail text bounces with a session transcript."""

    name = "sendmail"
    keywords: tuple[str, ...] = ("transcript", "addresses")
    signature = re.compile(
        r"(?i)(?<!-)-+\s*(?:transcript\s+of\s+session\s+follows|the\s+following\s+addresses\s+had)"
    )
    end = _SECTION_END

    def blocks(self, ctx: Context, section: str) -> list[tuple[str, str]]:
        # The addresses sendmail lists are the ones the notice is about; the transcript also
        # names addresses that were only deferred in the same session (still queued).
        listing = _listing(section)
        return (listing and super().blocks(ctx, listing)) or super().blocks(ctx, section)

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        if found is None:
            return None
        transcript = session_transcript(ctx.report_text)
        if not found:
            found = self._from_original(ctx, transcript)
        reasons = recorded_reasons(self.section(ctx))
        steps = exchanges(transcript)
        for item in found:
            answered = answer_to(steps, item.recipient, reasons.get(item.recipient))
            if answered is not None:
                item.smtp_command, item.diagnostic = answered
                item.reply_code = statuscodes.find_reply_code(item.diagnostic)
                continue
            if transcript and (item.recipient in transcript.lower() or len(found) == 1):
                item.diagnostic = lines_about(transcript, item.recipient) or item.diagnostic
                item.reply_code = statuscodes.find_reply_code(item.diagnostic)
            item.smtp_command = command_about(transcript, item.recipient) or item.smtp_command
        return found

    def _from_original(self, ctx: Context, transcript: str) -> list[Evidence]:
        original = ctx.original
        targets = addresses_in(original.get("to") or "") if original else []
        return [self.evidence(ctx, address, squeeze(transcript)) for address in targets[:1]]


# savemail.c errbody()'s lists ("----- The following addresses had permanent fatal errors
# -----", "... transient non-fatal errors ...", "... successful delivery notifications ...") come
# before the transcript.
_LISTING_START = re.compile(r"(?i)(?<!-)-+\s*the\s+following\s+addresses\s+had\b")
_TRANSCRIPT_START = re.compile(r"(?i)(?<!-)-+\s*transcript\s+of\s+session\s+follows")


def _listing(section: str) -> str:
    """The address lists of a sendmail notice (empty when it has none)."""
    start = _LISTING_START.search(section)
    if start is None:
        return ""
    end = _TRANSCRIPT_START.search(section, start.end())
    return section[start.end() : end.start() if end is not None else len(section)]


# savemail.c errbody(): under "----- The following addresses had permanent fatal errors -----"
# (and "... transient non-fatal errors ..."), each address on a line of its own as it was given
# ("<a@b>", a bare address, "|program"), then "    (reason: <its recorded status>)" when it has
# one, then "    (expanded from: <alias>)" when an alias led to it. The recorded status of an
# address refused over SMTP is the last line of the server's reply ("550 5.1.1 <a@b>: ...");
# for other failures it is sendmail's own ("550 Host unknown", a mailer's exit status "1").
_REASON_PREFIX = "(reason:"
# A whole SMTP reply with an enhanced status and some text: what the server said.
_SMTP_REPLY = re.compile(r"[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}[ \t]+\S")
MAX_LIST_CHARS = 64_000
MAX_TRANSCRIPT_LINES = 2_000


def recorded_reasons(text: str) -> dict[str, str]:
    """address -> the SMTP reply in its ``(reason: ...)`` line, for the addresses sendmail's
    list gives one (only replies with an enhanced status: sendmail's own texts are vaguer
    than its transcript)."""
    found: dict[str, str] = {}
    address: str | None = None
    for line in text[:MAX_LIST_CHARS].split("\n"):
        stripped = line.strip()
        if not stripped.startswith("("):
            address = first_address(stripped) if "@" in stripped else None
            continue
        if address is None or not stripped.lower().startswith(_REASON_PREFIX):
            continue
        reason = stripped[len(_REASON_PREFIX) :].removesuffix(")").strip()
        if _SMTP_REPLY.match(reason):
            found.setdefault(address, reason)
    return found


# The names bounce-stream gives the commands (smtp.py): HELO is EHLO, the end of the data is
# DATA.
_VERBS = {"HELO": "EHLO", ".": "DATA"}


@dataclass
class Exchange:
    """One command of a sendmail transcript (``>>> RCPT To:<a@b>``) and the server's reply
    lines after it (``<<< 550 ...``); ``command`` is ``CONN`` for the greeting."""

    command: str
    argument: str
    replies: list[str] = field(default_factory=list)


def exchanges(transcript: str) -> list[Exchange]:
    """The commands and replies of a sendmail transcript, in order.

    usersmtp.c writes ">>> " before each command it sends and "<<< " before each line of the
    reply it reads, so each reply belongs to the command just before it; "... while talking to
    host:" starts a new session, whose first replies are the server's greeting. Sendmail's
    own lines (``550 5.1.1 <a@b>... User unknown``, ``554 5.0.0 Service unavailable``) are its
    verdict on the reply and are not kept.
    """
    found: list[Exchange] = []
    current: Exchange | None = None
    for line in transcript.split("\n")[:MAX_TRANSCRIPT_LINES]:
        stripped = line.strip()
        if stripped.startswith(">>>"):
            verb, _, argument = stripped[3:].strip().partition(" ")
            verb = verb.split(":", 1)[0].upper()
            current = Exchange(_VERBS.get(verb, verb), argument.strip())
            found.append(current)
        elif stripped.startswith("<<<"):
            if current is None:
                current = Exchange("CONN", "")
                found.append(current)
            current.replies.append(stripped)
        elif "while talking to" in stripped.lower():
            current = None
    return found


def answer_to(
    steps: list[Exchange], address: str, reason: str | None
) -> tuple[str | None, str] | None:
    """(command, reply lines) of the exchange where ``address`` failed: the last ``RCPT`` for
    it that was refused, else the exchange whose last reply line is the address's recorded
    ``reason``, else that reason alone (command unknown); None when neither is there. (An
    accepted RCPT shows only in a verbose transcript; the failure came later.)"""
    for step in reversed(steps):
        if (
            step.command == "RCPT"
            and _refused(step)
            and first_address(step.argument) == address
        ):
            return "RCPT", squeeze(" ".join(step.replies))[:2000]
    if reason is None:
        return None
    for step in reversed(steps):
        if step.replies and squeeze(step.replies[-1][3:]) == squeeze(reason):
            return step.command, squeeze(" ".join(step.replies))[:2000]
    return None, reason


def _refused(step: Exchange) -> bool:
    """Whether the server's (last) reply to ``step`` is a refusal (4xx or 5xx)."""
    return bool(step.replies) and step.replies[-1][3:].strip()[:1] in ("4", "5")


# sendmail V5's own line about an address: its code, the address, then the remote reply
# (``554 <a@b>... 550 Host unknown``): the remote server's code is the inner one.
_V5_INNER_REPLY = re.compile(r"\b[245]\d\d[ -]+<?[^\s<>]+@[^\s<>]+?>?\.\.\.\s+([245]\d\d)\b")


class V5Sendmail(Sendmail):
    """sendmail version 5 (and clones): a transcript and no "following addresses" list.

    Layout: Subject "Returned mail: <reason>", "----- Transcript of session follows -----"
    with, per recipient, sendmail's own line ``554 <a@b>... 550 Host unknown (Authoritative
    answer from name server)`` (its code, then the remote reply) or the SMTP dialogue
    (``>>> RCPT To:<a@b>`` / ``<<< 550 ...``), then "----- Unsent message follows -----" or
    "----- No message was collected -----". No DSN part. The remote reply code is the inner
    one of sendmail's line.
    """

    name = "v5sendmail"
    keywords = ("transcript",)
    signature = re.compile(r"(?i)-\s*transcript\s+of\s+session\s+follows\s*-")
    end = re.compile(
        r"(?im)^[^\S\n]*-{3,}\s*(?:unsent\s+message|no\s+message\s+was\s+collected|original\s+message)"
    )

    def claims(self, ctx: Context) -> bool:
        # sendmail 8 lists the failed addresses first; V5 does not.
        return "following addresses had" not in ctx.probe_lower and super().claims(ctx)

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        for item in found or []:
            inner = _V5_INNER_REPLY.search(item.diagnostic)
            if inner is not None:
                item.reply_code = inner.group(1)
        return found
