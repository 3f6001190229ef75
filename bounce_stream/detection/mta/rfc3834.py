"""Automatic replies (RFC 3834): vacation and out-of-office notices, reason ``vacation``.

Evidence is in the header. On its own enough: RFC 3834's ``Auto-Submitted: auto-replied``,
``Precedence: auto_reply``, the de-facto ``X-Autoreply`` / ``X-Autorespond`` /
``X-Autoresponder`` fields (not when they say "no") and Apple Mail's
``X-Apple-Action: VACATION``. Enough with an auto-reply subject prefix ("Automatic reply:",
"Out of Office:", "Abwesenheitsnotiz:", "Réponse automatique :", "自動応答"...): the weaker
markers ``Auto-Submitted: auto-generated`` (Exchange's out-of-office), ``Precedence:
bulk|junk`` (vacation(1), procmail recipes), and Microsoft's ``X-MS-Exchange-Inbox-Rules-Loop``
or ``X-Auto-Response-Suppress`` (also set on ordinary Outlook mail, so only supporting). A
subject alone is never enough: human replies and newsletters must stay non-bounces, and so
is ``Auto-Submitted: no``.

The recipient is the auto-replying mailbox: the From of the reply. Replies from a mail system
(MAILER-DAEMON, postmaster) are bounces other detectors could not read, never vacations; and
this detector runs after every bounce detector, because many MTAs mark their bounces
``Auto-Submitted: auto-replied`` too (RFC 3834 section 5 lets them).
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.mta.signals import from_mail_system
from bounce_stream.detection.reasons import Reason

# Vendor fields that mark an automatic reply unless their value says "no".
_AUTO_REPLY_FIELDS = ("x-autoreply", "x-autorespond", "x-autoresponder")
# Fields that support an auto-reply subject but prove nothing alone.
_SUPPORTING_FIELDS = ("x-ms-exchange-inbox-rules-loop", "x-auto-response-suppress")
# Subject prefixes of auto-replies: Outlook/Exchange in its languages, vacation(1), Notes,
# Apple, Gmail and common autoresponders. Anchored at the start (after "[" or a "Re:"), and
# followed by a separator or the end, so that "Out of office party on Friday" is no reply.
# Possessive "\s*+": every one is followed by "re:", "[" or a word, which no white space
# starts, or by a white-space run the next "\s*+" takes; adjacent "\s*" backtracked
# quadratically (2.4 kB of blanks: over a second).
_AUTO_SUBJECT = re.compile(
    r"(?i)^\s*+(?:re:\s*+)?\[?\s*+(?:"
    r"auto(?:matic|mated)?[ _-]?(?:reply|response|answer)|autoreply|autoresponse|auto"
    r"|out\s+of\s+(?:the\s+)?office|away\s+from\s+(?:the\s+)?office|vacation(?:\s+reply)?"
    r"|on\s+vacation|on\s+leave|absence|abwesend|abwesenheit(?:snotiz)?"
    r"|automatische\s+antwort|r[ée]ponse\s+automatique|absence\s+du\s+bureau"
    r"|respuesta\s+autom[aá]tica|fuera\s+de\s+la\s+oficina|risposta\s+automatica"
    r"|automatisch\s+antwoord|resposta\s+autom[aá]tica|automatiskt?\s+svar|autosvar"
    r"|automaattinen\s+vastaus|odpowied[zź]\s+automatyczna|automatick[aá]\s+odpov[eě]d[ií]?"
    r"|автоматический\s+ответ|автоответ"
    r")\s*+(?:[:\]\-\uff1a]|$)"
    r"|^\s*+(?:re:\s*+)?[\[\u3010]?\s*+(?:自動応答|自動返信|自动回复|自動回覆|不在通知)"
)


class Rfc3834:
    """An auto-reply with RFC 3834 / vendor header evidence."""

    name = "rfc3834"

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not is_auto_reply(ctx) or from_mail_system(ctx):
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


def is_auto_reply(ctx: Context) -> bool:
    """Whether the header marks the message an automatic reply (see the module doc)."""
    headers = ctx.headers
    auto = (headers.get("auto-submitted") or "").strip().lower()
    if auto == "no" or auto.startswith("no;") or auto.startswith("no "):
        return False
    if auto.startswith("auto-replied"):
        return True
    precedence = (headers.get("precedence") or "").strip().lower()
    if precedence == "auto_reply":
        return True
    for name in _AUTO_REPLY_FIELDS:
        value = headers.get(name)
        if value is not None and value.strip().lower() not in ("no", "false", "0", "off"):
            return True
    if (headers.get("x-apple-action") or "").strip().lower() == "vacation":
        return True
    weak = (
        auto.startswith("auto-generated")
        or precedence in ("bulk", "junk")
        or any(name in headers for name in _SUPPORTING_FIELDS)
    )
    return weak and _AUTO_SUBJECT.search(ctx.subject) is not None
