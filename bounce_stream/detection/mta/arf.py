"""Complaints in the Abuse Reporting Format (RFC 5965) and look-alike feedback loops.

Quirks: some providers send the feedback-report part as text/plain, omit
Original-Rcpt-To (the complained-about recipient then comes from the returned message's
To:), or redact the local part. Microsoft's JMRP (staff@hotmail.com, "complaint about
message from <ip>") attaches the reported message with X-HmXmrOriginalRecipient and no
feedback-report part at all. Apple Mail's one-click unsubscribe arrives as a plain
auto-reply saying so; it is an opt-out complaint.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.datetimes import parse_date
from bounce_stream.detection.dsnfields import typed_value
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import Headers, addresses_in, first_address, parse_headers
from bounce_stream.detection.reasons import Reason

_FEEDBACK_FIELD = re.compile(r"(?im)^feedback-type[ \t]*:")
_USER_AGENT_FIELD = re.compile(r"(?im)^user-agent[ \t]*:")
_JMRP_SUBJECT = re.compile(r"(?i)\s*complaint\s+about\s+message\s+from\b")
_APPLE_UNSUBSCRIBE = re.compile(r"(?i)sent this e-?mail to unsubscribe from")


class Arf:
    """multipart/report; report-type=feedback-report (and Apple Mail unsubscribe notices)."""

    name = "arf"

    def detect(self, ctx: Context) -> list[Evidence] | None:
        report = _report_fields(ctx)
        if report is None:
            return _hotmail_complaint(ctx) or _apple_unsubscribe(ctx)
        feedback_type = (report.get("feedback-type") or "abuse").strip().lower()
        recipients = _recipients(ctx, report)
        date = parse_date(report.get("arrival-date") or report.get("received-date"))
        return [
            Evidence(
                recipient=address,
                reason=Reason.FEEDBACK,
                feedback_type=feedback_type,
                diagnostic=(report.get("user-agent") or "").strip(),
                arrival_date=date,
            )
            for address in recipients
        ]


def _report_fields(ctx: Context) -> Headers | None:
    if ctx.root.params.get("report-type", "").lower() == "feedback-report" or ctx.has_type(
        "message/feedback-report"
    ):
        for leaf in ctx.leaves:
            if _FEEDBACK_FIELD.search(leaf.text[:8000]):
                return parse_headers(leaf.text[:8000])
        return parse_headers("feedback-type: abuse")
    for leaf in ctx.text_leaves[:3]:
        head = leaf.text[:8000]
        if "eedback-" not in head and "EEDBACK-" not in head:
            continue
        if _FEEDBACK_FIELD.search(head) and _USER_AGENT_FIELD.search(head):
            start = _FEEDBACK_FIELD.search(head)
            return parse_headers(head[start.start() :] if start else head)
    return None


def _recipients(ctx: Context, report: Headers) -> list[str]:
    for name in ("original-rcpt-to", "removal-recipient"):
        addresses = [
            address
            for value in report.get_all(name)
            if (address := first_address(typed_value(value)[1])) is not None
        ]
        if addresses:
            return list(dict.fromkeys(addresses))
    original = ctx.original
    if original is not None:
        found = addresses_in(original.get("to") or "")
        if found:
            return list(dict.fromkeys(found))
    to = first_address(ctx.headers.get("to"))
    return [to] if to else []


def _hotmail_complaint(ctx: Context) -> list[Evidence] | None:
    """Microsoft's JMRP: the reported message attached to "complaint about message from"."""
    if not _JMRP_SUBJECT.match(ctx.subject) or ctx.original is None:
        return None
    original = ctx.original
    found = addresses_in(original.get("x-hmxmroriginalrecipient") or original.get("to") or "")
    return [
        Evidence(recipient=address, reason=Reason.FEEDBACK, feedback_type="abuse")
        for address in dict.fromkeys(found)
    ]


def _apple_unsubscribe(ctx: Context) -> list[Evidence] | None:
    head = ctx.body_text[:2000]
    if "nsubscribe" not in head or not _APPLE_UNSUBSCRIBE.search(head):
        return None
    sender = first_address(ctx.headers.get("from"))
    if sender is None:
        return []
    return [Evidence(recipient=sender, reason=Reason.FEEDBACK, feedback_type="opt-out")]
