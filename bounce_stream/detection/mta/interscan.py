"""Trend Micro InterScan Messaging Security Suite (InterScan MSS).

Layout: From ``"InterScan MSS"`` or ``"InterScan Notification"``, Subject "Mail could not be
delivered" (or a Japanese one); the text part quotes the failed step of the SMTP session with
its arrows reversed from the usual transcript: ``Sent <<< RCPT TO:<a@b>`` (what it sent),
``Received >>> 550 5.1.1 <a@b>... user unknown`` (the reply); or says ``Unable to deliver
message to <a@b>``. The Japanese variant writes ``>>> RCPT TO:<a@b>`` / ``<<< 550 ...`` after
Japanese labels. The original follows as message/rfc822.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.textutil import squeeze

# A command sent (either arrow), naming the recipient for RCPT TO.
_SENT = re.compile(r"(?i)(?:<<<|>>>)\s*(ehlo|helo|mail|rcpt|data)\b[^<\n]*(?:<([^>\s]+@[^>\s]+)>)?")
# The server's reply (either arrow): a reply code and its text.
_REPLY = re.compile(r"(?i)(?:>>>|<<<)\s*([2-5]\d\d[ -].*)")
_UNABLE = re.compile(r"(?i)unable\s+to\s+deliver\s+message\s+to\s+<([^>\s]+@[^>\s]+)>.*")


class InterScanMss(TextBounce):
    """InterScan MSS "Sent <<< / Received >>>" notices."""

    name = "interscanmss"
    keywords = ("interscan", "sent")
    # A line of "Sent <<<" after any blank lines: searched from the last line start before it
    # (the blanks of that line only, no newline), which finds a match exactly when "^\s*sent"
    # does, without rescanning a run of empty lines from each of its line starts.
    signature = re.compile(
        r"(?i)interscan\s+(?:mss|notification)|(?m:^)(?:(?!\n)\s)*+sent\s+<<<\s+[a-z]{4}"
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        found: dict[str, Evidence] = {}
        current: Evidence | None = None
        for line in ctx.report_text[:100_000].split("\n"):
            sent = _SENT.search(line)
            if sent is not None:
                address = first_address("<" + sent.group(2) + ">") if sent.group(2) else None
                if address is not None:
                    current = found.setdefault(address, self.evidence(ctx, address, ""))
                if current is not None:
                    verb = sent.group(1).upper()
                    current.smtp_command = "EHLO" if verb == "HELO" else verb
                continue
            reply = _REPLY.search(line)
            if reply is not None and current is not None:
                current.diagnostic = squeeze(reply.group(1))[:2000]
                current.reply_code = reply.group(1)[:3]
                continue
            unable = _UNABLE.search(line)
            if unable is not None:
                address = first_address("<" + unable.group(1) + ">")
                if address is not None:
                    current = found.setdefault(address, self.evidence(ctx, address, ""))
                    current.diagnostic = current.diagnostic or squeeze(unable.group(0))
        return list(found.values())
