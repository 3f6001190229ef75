"""OpenSMTPD delivery status notifications.

Layout: "This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail." then
"An error has occurred while attempting to deliver a message for the following list of
recipients:" and one line per recipient, ``a@b: 550 5.1.1 ... reply``; then
"Below is a copy of the original message:". Delay notices ("only a temporary failure
report") are reported like expiries; positive ones say "Your message was relayed to these
recipients" (or "successfully delivered").

Newer versions (6.x, bounce.c) add a message/delivery-status part with each recipient's
Action and Status. The Status is the envelope's own code: 5.0.0 for every remote refusal and
every failure it words itself (a placeholder: the quoted reply's code is the specific one),
4.4.7 for an envelope that expired (Action: delayed), 2.0.0 for a relayed/delivered one, and
x.3.0 (ESC_OTHER_MAIL_SYSTEM_STATUS) where mda.c failed a local delivery command, whose last
output line is quoted as the error. The per-recipient lines are read for the diagnostic; the
delivery-status part for a success's Action and a failure's specific Status.
"""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.dsnfields import parse_delivery_status, typed_value
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason

_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
_SUCCESS = ("relayed", "delivered", "expanded")


class OpenSmtpd(TextBounce):
    """OpenSMTPD text reports."""

    name = "opensmtpd"
    keywords = ("mailer-daemon", "opensmtpd")
    signature = re.compile(
        r"(?i)this\s+is\s+the\s+mailer-daemon,\s+please\s+do\s+not\s+reply|\(opensmtpd\)"
    )
    start = re.compile(r"(?i)(?:list\s+of\s+recipients|following\s+recipients?|"
                       r"to\s+these\s+recipients)[^\n]*\n")

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        if not found:
            return found
        fields = _delivery_status(ctx)
        for item in found:
            block = fields.get(item.recipient.lower())
            if block is None:
                continue
            action = (block.get("action") or "").strip().lower().split(" ")[0]
            status = (block.get("status") or "").strip().split(" ")[0]
            if action in _SUCCESS:
                item.action = action
            elif action != "failed":
                # A delay notice's 4.4.7 is left out: the corpus convention (Sisimai's reader
                # of this layout) reports OpenSMTPD's expiries with the expired pseudo code.
                continue
            # A failure's x.0.0 says nothing (a remote refusal's code is in the quoted reply;
            # without one the reason's pseudo code is reported, as for the text-only layout).
            if statuscodes.is_status(status) and (
                status.startswith("2.") or not status.endswith(".0.0")
            ):
                item.status = status
                if status[1:] == ".3.0" and item.reply_code is None:
                    # mda.c's failure of a local delivery command (no SMTP reply quoted).
                    item.hint = Reason.MAILERERROR
        return found


def _delivery_status(ctx: Context) -> dict[str, dict[str, str]]:
    """Final-Recipient (lower-case) -> its fields, from the message/delivery-status part."""
    out: dict[str, dict[str, str]] = {}
    for leaf in ctx.leaves:
        if leaf.content_type not in _DSN_TYPES or not leaf.text:
            continue
        for block in parse_delivery_status(leaf.text[:64_000]).recipients:
            address = first_address(typed_value(block.get("final-recipient"))[1])
            if address:
                out.setdefault(address.lower(), block)
    return out
