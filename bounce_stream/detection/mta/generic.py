"""Fallback for bounces from MTAs no detector knows: strict about *whether* it is a bounce.

A message counts as a bounce only when its sender is a mail system (MAILER-DAEMON,
postmaster, Mail Delivery System...), or its subject is a delivery-failure subject and the
message is machine-generated (null envelope sender, Auto-Submitted, X-Failed-Recipients).

When the returned message is there (a message/rfc822 part or a known "original message"
marker), the report is the text before it and that is enough. Many bounces strip it (old
Postfix and qmail notices, forwarders, quota-limited mailboxes): then the report is the whole
body, so the evidence must be stronger: a delivery-failure subject, a mail-system sender or
the null envelope sender (or X-Failed-Recipients), and a reply code, status code or failure
wording in the text. The recipient is then read from its own line when the text under it
tells a failure (``<a@b>: host ... said: 550 ...``, qmail's ``<a@b>:`` paragraphs, Exim's
indented list, "User unknown: <a@b>"), else from a sentence of the notice ("Your message to
a@b could not be delivered", "Delivery to a@b failed"), else from X-Failed-Recipients.
"""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.dsnfields import parse_delivery_status
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import addresses_in
from bounce_stream.detection.mta.signals import (
    BOUNCE_SUBJECT,
    from_mail_system,
    human_reply,
    machine_generated,
)
from bounce_stream.detection.mta.textbounce import TextBounce, drop_own_addresses, informative
from bounce_stream.detection.mta.textscan import sentence_recipients
from bounce_stream.detection.textutil import squeeze

_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
# Subjects MTAs give their failure notices (Postfix, Exim, qmail, sendmail, Exchange, Gmail,
# Domino, localized Exchange/Exim templates); stricter than BOUNCE_SUBJECT ("error").
NOTICE_SUBJECT = re.compile(
    r"(?i)undeliver|returned\s+mail|failure\s+notice|"
    r"mail\s+delivery\s+(?:failed|failure|problem|status|error)|"
    r"delivery\s+(?:status\s+notification|failure|failed|has\s+failed|notification|problem|"
    r"report)|"
    r"non[- ]?remis|unzustellbar|nicht\s+zustellbar|non\s+recapitabile|no\s+entregado|"
    r"message\s+not\s+delivered|could\s+not\s+be\s+delivered|returned\s+to\s+sender|"
    r"mail\s+system\s+error|rejected\s+mail|message\s+rejected|"
    r"\u914d\u4fe1\u4e0d\u80fd|\u30a8\u30e9\u30fc\u30e1\u30fc\u30eb"
)
# What a failure notice says besides codes: the MTAs' own sentences.
FAILURE_WORDING = re.compile(
    r"(?i)could\s+not\s+be\s+delivered|couldn[\'\u2019]t\s+be\s+delivered|"
    r"(?:was\s+not|wasn[\'\u2019]t)\s+delivered|"
    r"undeliverable|delivery\s+(?:has\s+)?failed|failed\s+permanently|permanent\s+(?:error|failure)|"
    r"(?:unable|not\s+able|wasn't\s+able)\s+to\s+deliver|could\s+not\s+deliver|"
    r"does\s+not\s+like\s+recipient|no\s+mailbox\s+here|user\s+unknown|unknown\s+user|"
    r"no\s+such\s+(?:user|mailbox|recipient)|mailbox\s+(?:is\s+)?(?:full|unavailable)|"
    r"quota\s+exceeded|temporary\s+failure|giving\s+up\s+on|retry\s+timeout\s+exceeded|"
    r"following\s+address(?:\(es\)|es)?\s+failed|"
    # Transport failures as Postfix, qmail-remote and Exim word them.
    r"connect\s+to\s+\S+:|connection\s+(?:refused|timed\s+out)|lost\s+connection|"
    r"refused\s+to\s+talk|host\s+\S+\s+said:|remote\s+host\s+said|smtp\s+error|"
    r"name\s+service\s+error|host\s+not\s+found|retry\s+time"
)


# The line after which a notice lists the failed addresses without a word about each.
LIST_INTRO = re.compile(
    r"(?i)(?:following\s+(?:recipients?|address(?:\(es\)|es)?)|these\s+recipients)[^\n]*\n"
)


class GenericText(TextBounce):
    """Any text bounce from a mail system; the last resort before auto-replies."""

    name = "generic"
    single_original_recipient = True

    def claims(self, ctx: Context) -> bool:
        if human_reply(ctx):
            return False
        if ctx.original is not None:
            if from_mail_system(ctx):
                return True
            return BOUNCE_SUBJECT.search(ctx.subject) is not None and machine_generated(ctx)
        return _notice_without_original(ctx)

    def read(self, ctx: Context) -> list[Evidence]:
        found = self._read(ctx)
        if len(found) == 1 and found[0].status is None:
            found[0].status, found[0].action = _sole_dsn_status(ctx)
        return found

    def _read(self, ctx: Context) -> list[Evidence]:
        if ctx.original is not None:
            return super().read(ctx)
        # The whole body is the report: only address lines whose own text tells a failure
        # count, then the sentences of the notice, then the addresses listed after its "following
        # recipients" line, then the header.
        report = ctx.report_text
        blocks = [item for item in self.blocks(ctx, report) if _tells_failure(item[1])]
        if blocks:
            return [self.evidence(ctx, address, diagnostic) for address, diagnostic in blocks]
        named = sentence_recipients(report) or self._listed(ctx, report) or _failed_recipients(ctx)
        named = [address for address, _ in drop_own_addresses(ctx, [(a, "") for a in named])]
        whole = squeeze(report)[:2000]
        return [self.evidence(ctx, address, whole) for address in named]

    def _listed(self, ctx: Context, report: str) -> list[str]:
        """Addresses on lines of their own after the notice's list intro."""
        section = _listed_after_intro(report)
        return [address for address, _ in self.blocks(ctx, section)] if section else []


def _sole_dsn_status(ctx: Context) -> tuple[str | None, str | None]:
    """(Status, Action) of the one recipient block of the message's delivery-status part,
    when it has one only; (None, None) otherwise. The RFC 3464 reader passes over a block
    whose Final-Recipient is no address (Exim names the file or pipe of a local delivery:
    "Final-Recipient: rfc822;/var/mail/user"), while the block's status is the report's."""
    parts = [leaf.text for leaf in ctx.leaves if leaf.content_type in _DSN_TYPES and leaf.text]
    if len(parts) != 1:
        return None, None
    blocks = parse_delivery_status(parts[0][:64_000]).recipients
    if len(blocks) != 1:
        return None, None
    status = (blocks[0].get("status") or "").split(" ", 1)[0].strip(" ;()")
    action = (blocks[0].get("action") or "").strip().lower().split(" ")[0] or None
    return (status if statuscodes.is_status(status) else None), action


def _listed_after_intro(report: str) -> str | None:
    """The text after "the following recipients/addresses" (Outlook, Exchange, Exim)."""
    found = LIST_INTRO.search(report)
    return report[found.end() :] if found else None


def _notice_without_original(ctx: Context) -> bool:
    """A delivery-failure notice by its header and its words alone (see the module doc)."""
    notice_subject = NOTICE_SUBJECT.search(ctx.subject) is not None
    null_sender = _null_sender_notice(ctx)
    if from_mail_system(ctx):
        if not (notice_subject or null_sender):
            return False
    elif not (notice_subject and null_sender):
        return False
    report = ctx.report_text[:8000]
    return bool(
        statuscodes.find_status(report)
        or statuscodes.find_reply_code(report)
        or FAILURE_WORDING.search(report)
    )


def _tells_failure(diagnostic: str) -> bool:
    return informative(diagnostic) or FAILURE_WORDING.search(diagnostic) is not None


def _null_sender_notice(ctx: Context) -> bool:
    """Sent with the null envelope sender, or naming its failed recipients in the header:
    what MTAs do and ticket systems or newsletters (Auto-Submitted too) do not."""
    return (ctx.headers.get("return-path") or "").strip() == "<>" or (
        "x-failed-recipients" in ctx.headers
    )


def _failed_recipients(ctx: Context) -> list[str]:
    """Exim's X-Failed-Recipients (and its copies by other MTAs)."""
    return list(dict.fromkeys(addresses_in(" ".join(ctx.headers.get_all("x-failed-recipients")))))
