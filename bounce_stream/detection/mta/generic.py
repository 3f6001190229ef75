"""Fallback for bounces from MTAs no detector knows: strict about *whether* it is a bounce.

A message counts as a bounce only when its sender is a mail system (MAILER-DAEMON,
postmaster, Mail Delivery System...), or its subject is a delivery-failure subject and the
message is machine-generated (null envelope sender, Auto-Submitted, X-Failed-Recipients);
and its text names at least one address on a line of its own. It must also be able to tell the
report from the returned message (a message/rfc822 part or a known "original message"
marker); without that it cannot know which addresses are the failed ones and stays silent.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.mta.textbounce import TextBounce

BOUNCE_SENDER = re.compile(
    r"(?i)(?:mailer[-_ ]?daemon|post_?master|mail\s+delivery\s+(?:system|subsystem)|"
    r"mail\s+administrator|delivery\s+(?:status|subsystem)|ndr\s+administrator|"
    r"returned\s+mail|bounce[sd]?@|no-?reply@)"
)
BOUNCE_SUBJECT = re.compile(
    r"(?i)(?:undeliver|undelivered|returned\s+mail|delivery\s+(?:status|failure|failed|"
    r"notification|problem)|failure\s+notice|mail\s+delivery\s+failed|could\s+not\s+be\s+"
    r"delivered|non[- ]?remis|unzustellbar|nicht\s+zustellbar|mail\s+system\s+error|"
    r"non\s+recapitabile|no\s+entregado|message\s+not\s+delivered|delivery\s+has\s+failed|"
    r"returned\s+to\s+sender|mail\s+failure|rejected|error)"
)


class GenericText(TextBounce):
    """Any text bounce from a mail system; the last resort before auto-replies."""

    name = "generic"
    single_original_recipient = True

    def claims(self, ctx: Context) -> bool:
        if _is_human_reply(ctx) or ctx.original is None:
            return False
        if BOUNCE_SENDER.search(ctx.sender):
            return True
        return BOUNCE_SUBJECT.search(ctx.subject) is not None and _machine_generated(ctx)


def _machine_generated(ctx: Context) -> bool:
    """Null envelope sender, Auto-Submitted or X-Failed-Recipients: not written by a person."""
    if (ctx.headers.get("return-path") or "").strip() in ("<>", ""):
        return "return-path" in ctx.headers
    auto = (ctx.headers.get("auto-submitted") or "no").strip().lower()
    return auto != "no" or "x-failed-recipients" in ctx.headers


def _is_human_reply(ctx: Context) -> bool:
    subject = ctx.subject.strip().lower()
    return subject.startswith(("re:", "fw:", "fwd:")) and "mailer-daemon" not in ctx.sender.lower()
