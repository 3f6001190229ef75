"""Header signals that tell machine-generated notices from mail written by people."""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context

BOUNCE_SENDER = re.compile(
    r"(?i)(?:mailer[-_ ]?daemon|post_?master|mail\s+delivery\s+(?:system|subsystem)|"
    r"mail\s+administrator|delivery\s+(?:status|subsystem)|ndr\s+administrator|"
    r"returned\s+mail)"
)
BOUNCE_SUBJECT = re.compile(
    r"(?i)(?:undeliver|undelivered|returned\s+mail|delivery\s+(?:status|failure|failed|"
    r"notification|problem)|failure\s+notice|mail\s+delivery\s+failed|could\s+not\s+be\s+"
    r"delivered|non[- ]?remis|unzustellbar|nicht\s+zustellbar|mail\s+system\s+error|"
    r"non\s+recapitabile|no\s+entregado|message\s+not\s+delivered|delivery\s+has\s+failed|"
    r"returned\s+to\s+sender|mail\s+failure|rejected|error)"
)


def from_mail_system(ctx: Context) -> bool:
    """The sender is a mail system (MAILER-DAEMON, postmaster, Mail Delivery System...)."""
    return BOUNCE_SENDER.search(ctx.sender) is not None


def machine_generated(ctx: Context) -> bool:
    """Null envelope sender, Auto-Submitted or X-Failed-Recipients: not written by a person."""
    if (ctx.headers.get("return-path") or "").strip() in ("<>", ""):
        return "return-path" in ctx.headers
    auto = (ctx.headers.get("auto-submitted") or "no").strip().lower()
    return auto != "no" or "x-failed-recipients" in ctx.headers


def human_reply(ctx: Context) -> bool:
    """A person's reply or forward (which may quote a bounce), not a notice itself."""
    subject = ctx.subject.strip().lower()
    if not subject.startswith(("re:", "re :", "fw:", "fwd:", "tr:", "aw:", "wg:")):
        return False
    return not from_mail_system(ctx) and not machine_generated(ctx)
