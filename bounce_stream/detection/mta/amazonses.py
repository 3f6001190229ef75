"""Amazon SES notifications delivered by e-mail (SNS topic subscriptions), in JSON.

Quirks: the SES event is either the whole body or a JSON string inside the SNS envelope's
``Message``; mail relays fold the long JSON lines (we unfold before decoding); bounce
subtypes ``Suppressed``/``OnAccountSuppressionList`` mean the address is on an SES
suppression list; ``Delivery`` events are positive DSNs and ``Complaint`` events are
feedback-loop complaints.
"""

from __future__ import annotations

import json
from typing import Any

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.dsnfields import typed_value
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.reasons import Reason

MAX_JSON_CHARS = 200_000
_SUPPRESSED = frozenset({"suppressed", "onaccountsuppressionlist"})


class AmazonSesNotification:
    """JSON bounce, complaint and delivery events from SES via SNS."""

    name = "amazonses"

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if "notificationType" not in ctx.body_text and "eventType" not in ctx.body_text:
            return None
        event = _event(ctx.body_text[:MAX_JSON_CHARS])
        if event is None:
            return None
        kind = str(event.get("notificationType") or event.get("eventType") or "").lower()
        if kind == "bounce":
            return _bounces(_dict(event.get("bounce")))
        if kind == "complaint":
            return _complaints(_dict(event.get("complaint")))
        if kind == "delivery":
            return _deliveries(_dict(event.get("delivery")))
        return None


def _event(text: str) -> dict[str, Any] | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    body = text[start : end + 1]
    for candidate in (body.replace("\n ", ""), body.replace("\n", "")):
        try:
            decoded = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(decoded, dict) and isinstance(decoded.get("Message"), str):
            try:
                decoded = json.loads(decoded["Message"])
            except ValueError:
                return None
        return decoded if isinstance(decoded, dict) else None
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _bounces(bounce: dict[str, Any]) -> list[Evidence]:
    subtype = str(bounce.get("bounceSubType") or "").lower()
    found: list[Evidence] = []
    for item in _list(bounce.get("bouncedRecipients")):
        address = first_address(str(item.get("emailAddress") or ""))
        if not address:
            continue
        kind, diagnostic = typed_value(str(item.get("diagnosticCode") or ""))
        status = str(item.get("status") or "") or None
        found.append(
            Evidence(
                recipient=address,
                diagnostic=diagnostic,
                status=status,
                reply_code=statuscodes.find_reply_code(diagnostic),
                action=str(item.get("action") or "") or None,
                diagnostic_type=kind,
                reporting_mta=str(bounce.get("reportingMTA") or "") or None,
                reason=Reason.SUPPRESSED if subtype in _SUPPRESSED else None,
            )
        )
    return found


def _complaints(complaint: dict[str, Any]) -> list[Evidence]:
    feedback_type = str(complaint.get("complaintFeedbackType") or "abuse")
    return [
        Evidence(recipient=address, reason=Reason.FEEDBACK, feedback_type=feedback_type)
        for item in _list(complaint.get("complainedRecipients"))
        if (address := first_address(str(item.get("emailAddress") or "")))
    ]


def _deliveries(delivery: dict[str, Any]) -> list[Evidence]:
    response = str(delivery.get("smtpResponse") or "")
    return [
        Evidence(
            recipient=address,
            diagnostic=response,
            status=statuscodes.find_status(response),
            reply_code=statuscodes.find_reply_code(response),
            action="delivered",
            reason=Reason.DELIVERED,
            reporting_mta=str(delivery.get("reportingMTA") or "") or None,
        )
        for raw in delivery.get("recipients") or []
        if (address := first_address(str(raw)))
    ]
