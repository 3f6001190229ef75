"""Sendmail-style text bounces without a DSN part (V5 sendmail, old sendmail, clones).

Layout: "----- The following addresses had permanent fatal errors -----" listing the
addresses, then "----- Transcript of session follows -----" with the SMTP dialogue
(``>>> RCPT To:<a@b>`` / ``<<< 550 5.1.1 ... User unknown`` or ``550 a@b... User unknown``),
then "----- Unsent message follows -----". Very old versions list no address at all: the
recipient is then the To: of the returned message.
"""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import addresses_in
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.mta.textscan import command_about, lines_about, session_transcript
from bounce_stream.detection.textutil import squeeze

_SECTION_END = re.compile(
    r"(?im)^\s*-{3,}\s*(?:unsent\s+message|original\s+message|message\s+header)"
)


class Sendmail(TextBounce):
    """Sendmail text bounces with a session transcript."""

    name = "sendmail"
    keywords: tuple[str, ...] = ("transcript", "addresses")
    signature = re.compile(
        r"(?i)-+\s*(?:transcript\s+of\s+session\s+follows|the\s+following\s+addresses\s+had)"
    )
    end = _SECTION_END

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        if found is None:
            return None
        transcript = session_transcript(ctx.report_text)
        if not found:
            found = self._from_original(ctx, transcript)
        for item in found:
            if transcript and (item.recipient in transcript.lower() or len(found) == 1):
                item.diagnostic = lines_about(transcript, item.recipient) or item.diagnostic
                item.reply_code = statuscodes.find_reply_code(item.diagnostic)
            item.smtp_command = command_about(transcript, item.recipient) or item.smtp_command
        return found

    def _from_original(self, ctx: Context, transcript: str) -> list[Evidence]:
        original = ctx.original
        targets = addresses_in(original.get("to") or "") if original else []
        return [self.evidence(ctx, address, squeeze(transcript)) for address in targets[:1]]


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
        r"(?im)^\s*-{3,}\s*(?:unsent\s+message|no\s+message\s+was\s+collected|original\s+message)"
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
