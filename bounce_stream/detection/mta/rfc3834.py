"""Automatic replies (RFC 3834): vacation and out-of-office notices.

Evidence is in the header: ``Auto-Submitted: auto-replied``, the de-facto ``X-Autoreply``,
``X-Autorespond``, ``Precedence: auto_reply``, Microsoft's ``X-MS-Exchange-Inbox-Rules-Loop``
style auto-forward markers are *not* enough on their own, and neither is a subject prefix
without one of those fields (human replies and newsletters must stay non-bounces). The
recipient is the auto-replying mailbox: the From of the reply. Replies from a mail system
(MAILER-DAEMON, postmaster) are bounces other detectors could not read, never vacations.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.mta.signals import from_mail_system
from bounce_stream.detection.reasons import Reason

_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-response-suppress")
_AUTO_SUBJECT = re.compile(
    r"(?i)^\s*(?:auto(?:matic)?[ _-]?(?:reply|response|antwort)|out of (?:the )?office|"
    r"away from|vacation|absence|abwesenheit|r[ée]ponse automatique|auto:|away until|"
    r"on leave|autoreply)"
)


class Rfc3834:
    """An auto-reply with RFC 3834 / vendor header evidence."""

    name = "rfc3834"

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not _is_auto_reply(ctx) or from_mail_system(ctx):
            return None
        sender = first_address(ctx.headers.get("from"))
        if sender is None:
            return []
        return [
            Evidence(
                recipient=sender,
                reason=Reason.VACATION,
                diagnostic=ctx.body_text[:500].strip(),
            )
        ]


def _is_auto_reply(ctx: Context) -> bool:
    auto = (ctx.headers.get("auto-submitted") or "").strip().lower()
    if auto.startswith("auto-replied"):
        return True
    if any(name in ctx.headers for name in _AUTO_HEADERS[:3]):
        return True
    precedence = (ctx.headers.get("precedence") or "").strip().lower()
    if precedence == "auto_reply":
        return True
    return bool(auto == "auto-generated" and _AUTO_SUBJECT.search(ctx.subject))
