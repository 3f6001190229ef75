"""Standard delivery status notifications (RFC 3464), whatever MTA wrote them.

Quirks handled: the delivery-status part sent as text/plain or inline in the body,
sendmail's session transcript (read when Diagnostic-Code is missing or has no reply),
PowerMTA's own X-PowerMTA-BounceCategory verdict (a hint: a specific status or text wins),
missing blank lines between recipient blocks, folded fields, ``X-Actual-Recipient`` and
``Original-Recipient`` only, Diagnostic-Code missing (then the human-readable part is read
around the recipient address), status "5.0.0" placeholders.
"""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.datetimes import parse_date
from bounce_stream.detection.dsnfields import (
    DeliveryStatus,
    looks_like_dsn,
    parse_delivery_status,
    typed_value,
)
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.mta.signals import human_reply
from bounce_stream.detection.mta.textscan import (
    command_about,
    diagnostic_near,
    lines_about,
    session_transcript,
)
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.smtp import find_command
from bounce_stream.detection.textutil import squeeze

_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
# PowerMTA classifies every bounce itself (X-PowerMTA-BounceCategory, its documented
# categories). The category is coarse ("bad-mailbox" covers a disabled mailbox too), so it
# is a hint: the remote server's own status or wording is more specific.
_POWERMTA_CATEGORIES: dict[str, Reason] = {
    "bad-domain": Reason.HOSTUNKNOWN,
    "bad-mailbox": Reason.USERUNKNOWN,
    "inactive-mailbox": Reason.SUSPEND,
    "message-expired": Reason.EXPIRED,
    "no-answer-from-host": Reason.NETWORKERROR,
    "policy-related": Reason.POLICYVIOLATION,
    "quota-issues": Reason.MAILBOXFULL,
    "routing-errors": Reason.SYSTEMERROR,
    "spam-related": Reason.SPAMDETECTED,
}


class Rfc3464:
    """message/delivery-status parts, and their malformed text/plain look-alikes."""

    name = "rfc3464"

    def detect(self, ctx: Context) -> list[Evidence] | None:
        text = ctx.memo(_dsn_text)
        if text is None:
            return None
        status = parse_delivery_status(text)
        found: dict[str, Evidence] = {}
        for block in status.recipients:
            address = _recipient(block)
            if address and address not in found:
                found[address] = _evidence(ctx, status, block)
        return list(found.values())


def _dsn_text(ctx: Context) -> str | None:
    # Some MTAs (Postfix with several queue files) send one delivery-status part each.
    parts = [leaf.text for leaf in ctx.leaves if leaf.content_type in _DSN_TYPES and leaf.text]
    if parts:
        return "\n\n".join(parts)[:200_000]
    if human_reply(ctx):  # a person quoting a DSN in a reply or forward
        return None
    for leaf in ctx.leaves:
        if leaf.text and looks_like_dsn(leaf.text[:64_000]):
            return leaf.text[:64_000]
    return None


def _recipient(block: dict[str, str]) -> str | None:
    for name in ("final-recipient", "original-recipient", "x-actual-recipient"):
        address = first_address(typed_value(block.get(name))[1])
        if address:
            return address
    return None


def _evidence(ctx: Context, status: DeliveryStatus, block: dict[str, str]) -> Evidence:
    recipient = _recipient(block) or ""
    code = (block.get("status") or "").split()[0:1]
    found_status = code[0].strip(" ;()") if code else None
    if found_status and not statuscodes.is_status(found_status):
        found_status = None
    diag_type, diagnostic = typed_value(block.get("diagnostic-code"))
    transcript = session_transcript(ctx.report_text)
    # Local delivery agent lines only matter when the Status itself says nothing.
    agents = statuscodes.reason_of(found_status) is None
    if not diagnostic:
        diagnostic = _messaging_server_reason(ctx.report_text, recipient)
        if not diagnostic and transcript:
            diagnostic = lines_about(transcript, recipient, with_agents=agents)
        diagnostic = diagnostic or diagnostic_near(ctx.report_text, recipient)
    elif transcript and (
        _is_exit_code(diag_type) or statuscodes.find_reply_code(diagnostic) is None
    ):
        extra = lines_about(transcript, recipient, with_agents=agents)
        diagnostic = squeeze(diagnostic + " " + extra)[:2000]
    else:
        diagnostic = _with_vendor_sentence(ctx.report_text, recipient, diagnostic)
    diagnostic = _with_header_problems(ctx.report_text, diagnostic)
    action = (block.get("action") or "").strip().lower().split(" ")[0] or None
    return Evidence(
        recipient=recipient,
        diagnostic=diagnostic,
        status=found_status,
        reply_code=statuscodes.find_reply_code(
            diagnostic.split(" ", 1)[-1] if _is_exit_code(diag_type) else diagnostic
        ),
        action=action,
        diagnostic_type=diag_type,
        remote_mta=typed_value(block.get("remote-mta"))[1] or None,
        reporting_mta=typed_value(status.message.get("reporting-mta"))[1] or None,
        smtp_command=find_command(diagnostic)
        or (command_about(transcript, recipient) if transcript else None)
        or ctx.report_command,
        hint=_POWERMTA_CATEGORIES.get(
            (block.get("x-powermta-bouncecategory") or "").strip().lower()
        ),
        arrival_date=parse_date(
            block.get("last-attempt-date") or status.message.get("arrival-date")
        ),
    )


_ENVELOPE_ID = re.compile(r"(?im)^original-envelope-id[ \t]*:[ \t]*(\S[^\n]*)")
_RECIPIENT_REASON = re.compile(
    r"(?im)^[^\S\n]*recipient\s+address:\s*<?([^\s>]+)>?[^\S\n]*+\n\s*+reason:\s*(.+)"
)


def _messaging_server_reason(text: str, recipient: str) -> str:
    """Sun/Oracle Messaging Server and PMDF: "Recipient address: a@b" then "Reason: ..."."""
    if not recipient or "eason:" not in text:
        return ""
    for found in _RECIPIENT_REASON.finditer(text):
        if found.group(1).lower() == recipient:
            return found.group(2).strip()
    return ""


def _with_vendor_sentence(text: str, recipient: str, diagnostic: str) -> str:
    """The MTA's own sentence about ``recipient`` in the human-readable part when it quotes
    the Diagnostic-Code and says more: Postfix writes "<a@b>: host mx[ip] said: 550 ...
    (in reply to RCPT TO command)" or "host mx[ip] refused to talk to me: 554 ...", where
    the delivery-status part keeps only the reply. Otherwise ``diagnostic``."""
    head = text[:64_000]
    lowered = head.lower()
    if not recipient or not diagnostic or recipient not in lowered:
        return diagnostic
    quoted = squeeze(diagnostic)
    at = lowered.find(recipient)
    for _ in range(5):  # the first few lines naming the recipient
        if at < 0:
            break
        found = _PARAGRAPH.match(head, head.rfind("\n", 0, at) + 1)
        if found is not None and recipient in lowered[found.start() : found.start(1)]:
            sentence = squeeze(found.group(1))[:2000]
            if len(sentence) > len(quoted) and quoted.lower() in sentence.lower():
                return sentence
        at = lowered.find(recipient, at + len(recipient))
    return diagnostic


# amavisd-new's notices (its templates: "Our internal reference code for your message is
# %n/%i") list the header problems it found (%X), one per line, in the wording of its
# header checks (Amavis/Unpackers/Validity.pm): the RFC 5322 violations it refused the
# message for, which its DSN's reply ("554 5.7.0 Reject, id=... - SPAM") does not name.
_AMAVIS_MARK = "internal reference code for your message is"
_AMAVIS_HEADER_PROBLEM = re.compile(
    r"(?im)^[ \t]*((?:duplicate header field|header field occurs more than once|"
    r"missing required header field|improper folded header field|"
    r"header line longer than 998 characters|improper use of control character|"
    r"non-encoded (?:non-ascii data|utf-8 string)|utf-8 string contains c[01] controls|"
    r"invalid header field (?:syntax|name))[^\n]{0,200})"
)


def _with_header_problems(text: str, diagnostic: str) -> str:
    """``diagnostic`` followed by the header problems an amavisd-new notice lists, if any."""
    head = text[:64_000]
    if _AMAVIS_MARK not in head.lower():
        return diagnostic
    problems = [found.strip() for found in _AMAVIS_HEADER_PROBLEM.findall(head)[:10]]
    return squeeze(" ".join([diagnostic, *problems]))[:2000] if problems else diagnostic


# "<a@b>: ..." or "<a@b> (expanded from <c@d>): ..." at a line start, then the indented
# continuation lines (Postfix's bounce(8) layout, which several MTAs copy).
_PARAGRAPH = re.compile(
    r"[ \t]*<?[^\s<>@]+@[^\s<>]+>?(?:[ \t]+\(expanded[ \t]+from[^)\n]{0,300}\))?:[ \t]*"
    r"([^\n]{1,1000}(?:\n[ \t]+[^\n]{1,1000}){0,20})"
)


def _is_exit_code(diag_type: str | None) -> bool:
    """X-Unix diagnostics are a local program's exit status, not an SMTP reply."""
    return (diag_type or "").upper() == "X-UNIX"


def envelope_id(ctx: Context) -> str | None:
    """The RFC 3461 ENVID echoed as Original-Envelope-Id, if any."""
    text = ctx.memo(_dsn_text)
    if text is None or "envelope-" not in text.lower():  # no letter of it has odd cases
        return None
    match = _ENVELOPE_ID.search(text)
    return match.group(1).strip() if match else None
