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
    r"(?im)^[^\S\n]*-{3,}\s*(?:unsent\s+message|original\s+message|message\s+header)"
)


class Sendmail(TextBounce):
    """Sendmail text bounces with a session transcript."""

    name = "sendmail"
    keywords = ("transcript", "addresses")
    signature = re.compile(
        r"(?i)(?<!-)-+\s*(?:transcript\s+of\s+session\s+follows|the\s+following\s+addresses\s+had)"
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
