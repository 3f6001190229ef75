"""Ipswitch IMail Server.

Layout: one sentence per failure, the address after a colon ("User mailbox exceeds allowed
size: a@b", "Invalid final delivery userid: a@b", "Unknown user: a@b"), then
"Original message follows." The SMTP stage is named in fixed phrases (``_STAGES``: "SMTP
connection failed," / "Unexpected connection response from server:", "Unexpected response to
EHLO/HELO:", "Server response to MAIL FROM:", "Additional RCPT TO generated following
response:", "DATA command generated response:"), then the remote reply after "Body of
message generated response:".
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.textutil import squeeze

# The next failure line ("Unknown user: a@b") or the returned message.
_NEXT_FAILURE = re.compile(
    r"(?im)^[^\n@]*:[ \t]*<?[^\s@<>]+@[^\s]+[ \t]*$|^original\s+message\s+follows"
)
# IMail's stage phrases and the SMTP command each names.
_STAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"(?i)smtp\s+connection\s+failed,|unexpected\s+connection\s+response\s+from\s+server:"
        ),
        "CONN",
    ),
    (re.compile(r"(?i)unexpected\s+response\s+to\s+ehlo/helo:"), "EHLO"),
    (re.compile(r"(?i)server\s+response\s+to\s+mail\s+from:"), "MAIL"),
    (re.compile(r"(?i)additional\s+rcpt\s+to\s+generated\s+following\s+response:"), "RCPT"),
    (re.compile(r"(?i)data\s+command\s+generated\s+response:"), "DATA"),
)


class IMail(TextBounce):
    """IMail "Undeliverable Mail" reports."""

    name = "imail"
    keywords = ("unknown", "userid", "exceeds", "attempts")
    # [^\s] rather than \S, which reads the same: a lower-case pattern can run case-sensitively
    # on the lower-cased probe (see TextBounce).
    signature = re.compile(
        r"(?im)^(?:unknown\s+user|invalid\s+final\s+delivery\s+userid|user\s+mailbox\s+exceeds"
        r"\s+allowed\s+size|unknown\s+host|delivery\s+failed\s+\d+\s+attempts)[^:\n]*:\s*[^\s]+@"
    )
    messages = (
        ("unknown host", Reason.HOSTUNKNOWN),
        ("unknown user", Reason.USERUNKNOWN),
        ("invalid final delivery userid", Reason.USERUNKNOWN),
        ("user mailbox exceeds allowed size", Reason.MAILBOXFULL),
        ("requested action not taken: virus detected", Reason.VIRUSDETECTED),
        ("delivery failed ", Reason.EXPIRED),
    )

    def evidence(self, ctx: Context, address: str, diagnostic: str) -> Evidence:
        # The stage phrase and the remote reply follow the "Reason: a@b" line.
        following = _following(self.section(ctx), address)
        if following:
            diagnostic = squeeze(diagnostic + " " + following)[:2000]
        item = super().evidence(ctx, address, diagnostic)
        item.smtp_command = imail_stage(diagnostic) or item.smtp_command
        return item


def imail_stage(diagnostic: str) -> str | None:
    """The SMTP command IMail's stage phrase in ``diagnostic`` names, if any."""
    for pattern, command in _STAGES:
        if pattern.search(diagnostic):
            return command
    return None


def _following(section: str, address: str) -> str:
    """The lines after the line naming ``address``, up to the next such line or the end."""
    lowered = section.lower()
    at = lowered.find(address)
    if at < 0:
        return ""
    start = lowered.find("\n", at)
    if start < 0:
        return ""
    rest = section[start : start + 2000]
    cut = _NEXT_FAILURE.search(rest)
    return rest[: cut.start()] if cut else rest
