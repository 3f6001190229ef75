"""Fallback for bounces from MTAs no detector knows: strict about *whether* it is a bounce.

A message counts as a bounce only when its sender is a mail system (MAILER-DAEMON,
postmaster, Mail Delivery System...), or its subject is a delivery-failure subject and the
message is machine-generated (null envelope sender, Auto-Submitted, X-Failed-Recipients);
and its text names at least one address on a line of its own. It must also be able to tell the
report from the returned message (a message/rfc822 part or a known "original message"
marker); without that it cannot know which addresses are the failed ones and stays silent.
"""

from __future__ import annotations

from bounce_stream.detection.context import Context
from bounce_stream.detection.mta.signals import (
    BOUNCE_SUBJECT,
    from_mail_system,
    human_reply,
    machine_generated,
)
from bounce_stream.detection.mta.textbounce import TextBounce


class GenericText(TextBounce):
    """Any text bounce from a mail system; the last resort before auto-replies."""

    name = "generic"
    single_original_recipient = True

    def claims(self, ctx: Context) -> bool:
        if human_reply(ctx) or ctx.original is None:
            return False
        if from_mail_system(ctx):
            return True
        return BOUNCE_SUBJECT.search(ctx.subject) is not None and machine_generated(ctx)
