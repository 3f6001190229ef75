"""Placeholder engine: minimal RFC 3464 reading until the detector registry lands."""

from __future__ import annotations

import email
import email.policy
import hashlib
from email.message import Message

from bounce_stream.detection.model import Action, Bounce, ParseOptions, ParseResult
from bounce_stream.detection.reasons import Reason


def _fingerprint(msg: Message, raw: bytes) -> str:
    mid = msg.get("Message-ID")
    if mid:
        return "mid:" + str(mid).strip()
    norm = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return "sha256:" + hashlib.sha256(norm).hexdigest()


def classify(raw: bytes, options: ParseOptions) -> ParseResult:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not msg.keys():
        return ParseResult(error="not an Internet message: no header fields")
    bounces: list[Bounce] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks[1:]:
            rcpt = str(block.get("Final-Recipient", "")).split(";")[-1].strip()
            if not rcpt:
                continue
            status = str(block.get("Status", "")).strip() or None
            action = str(block.get("Action", "")).strip().lower()
            reason = Reason.USERUNKNOWN if status and status.endswith(".1.1") else Reason.UNDEFINED
            bounces.append(
                Bounce(
                    recipient=rcpt.lower(),
                    reason=reason,
                    detected_by="rfc3464",
                    action=Action(action) if action in Action.__members__.values() else None,
                    status=status,
                )
            )
    return ParseResult(
        bounces=tuple(bounces),
        bounce_message_id=(str(msg.get("Message-ID")).strip() if msg.get("Message-ID") else None),
        fingerprint=_fingerprint(msg, raw),
    )
