"""Detection engine: parse the message once, ask the registry, decide each recipient."""

from __future__ import annotations

import hashlib
import re

from bounce_stream.detection.context import Context, forwarded_bounce
from bounce_stream.detection.correlate import Correlation, correlate
from bounce_stream.detection.decide import decide
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.gaveup import says_it_gave_up
from bounce_stream.detection.headers import ADDRESS_RE
from bounce_stream.detection.lda import agent_reason
from bounce_stream.detection.mime import MAX_MESSAGE_CHARS, normalise_newlines, parse_entity
from bounce_stream.detection.model import Action, Bounce, ParseOptions, ParseResult
from bounce_stream.detection.registry import REGISTRY
from bounce_stream.detection.rhost import apply_provider

_HEADER_LINE = re.compile(rb"^(?:From |[!-9;-~]+[ \t]*:)", re.MULTILINE)
_ACTIONS = {action.value: action for action in Action}


def classify(raw: bytes, options: ParseOptions) -> ParseResult:
    """Classify one raw message (see :func:`bounce_stream.detection.parse`)."""
    normalised = normalise_newlines(raw)
    if not _is_message(normalised):
        return ParseResult(
            error="not an Internet message: no header fields",
            fingerprint=_digest(normalised),
        )
    text = normalised[:MAX_MESSAGE_CHARS].decode("latin-1")
    if text.startswith("From "):
        text = text.split("\n", 1)[-1]
    ctx = Context(parse_entity(text))
    message_id = (ctx.headers.get("message-id") or "").strip() or None
    fingerprint = "mid:" + message_id if message_id else _digest(normalised)
    detector_name, found = _run_registry(ctx)
    if not found:  # a bounce forwarded by a person or enclosed in another message
        inner = forwarded_bounce(ctx, text)
        if inner is not None:
            inner_ctx = Context(parse_entity(inner))
            detector_name, found = _run_registry(inner_ctx)
            ctx = inner_ctx if found else ctx
    if found and "\x00" in text and _beside_nul(text) & {item.recipient.lower() for item in found}:
        # "a\0b@c" would otherwise report b@c: an address cut at a NUL is refused.
        return ParseResult(
            error="a recipient address touches a NUL character",
            bounce_message_id=message_id,
            fingerprint=fingerprint,
        )
    bounces: tuple[Bounce, ...] = ()
    if found:
        gave_up = says_it_gave_up(ctx.report_text)
        for item in found:
            item.gave_up = item.gave_up or gave_up or says_it_gave_up(item.diagnostic)
        link = correlate(ctx, options)
        bounces = tuple(_bounce(item, _label(ctx, item, detector_name), link) for item in found)
    return ParseResult(bounces=bounces, bounce_message_id=message_id, fingerprint=fingerprint)


def _is_message(raw: bytes) -> bool:
    """At least one header field in the first lines, and no NUL-riddled binary."""
    head = raw[:4096]
    if b"\x00" in head and head.count(b"\x00") > 8:  # memchr first: text has no NUL at all
        return False
    end = head.find(b"\n\n")
    return _HEADER_LINE.search(head, 0, len(head) if end < 0 else end) is not None


def _beside_nul(text: str) -> set[str]:
    """Addresses (as detectors report them) that start right after or end right before a NUL."""
    return {
        found.group(0).lower().strip(".")
        for found in ADDRESS_RE.finditer(text)
        if "\x00" in text[max(found.start() - 1, 0) : found.start()]
        or "\x00" in text[found.end() : found.end() + 2]  # also "a@b.\0c": the dot is not kept
    }


def _digest(normalised: bytes) -> str:
    return "sha256:" + hashlib.sha256(transport_canonical(normalised)).hexdigest()


def transport_canonical(normalised: bytes) -> bytes:
    """The message as every transport agrees on it: the input of a Message-ID-less fingerprint.

    Files, mbox, Maildir and IMAP servers hand back the same message with different line
    endings (already normalised to LF here), trailing blanks, final newlines and NUL handling
    (Dovecot turns NUL into 0x80; other servers drop it), and an mbox ``From `` line. All of
    that is left out, so the same bounce gets the same ``event_id`` whatever it was read from.
    A message that has none of it (LF endings, one final newline) digests to its own bytes.
    """
    text = normalised.replace(b"\x00", b"").replace(b"\x80", b"")
    if text.startswith(b"From "):
        text = text.partition(b"\n")[2]
    # split/rstrip, not a regex: a long run of blanks must cost linear time.
    lines = [line.rstrip(b" \t") for line in text.split(b"\n")]
    return b"\n".join(lines).rstrip(b"\n") + b"\n"


def _run_registry(ctx: Context) -> tuple[str, list[Evidence]]:
    for detector in REGISTRY:
        found = detector.detect(ctx)
        if found:
            return detector.name, [item for item in found if _valid(item.recipient)]
    return "", []


def _valid(address: str) -> bool:
    return ADDRESS_RE.fullmatch(address) is not None


def _label(ctx: Context, item: Evidence, detector_name: str) -> str:
    """``detector`` or ``detector/provider`` when a provider's own vocabulary decided."""
    provider = apply_provider(ctx, item)
    return f"{detector_name}/{provider}" if provider else detector_name


def _bounce(item: Evidence, detector_name: str, link: Correlation) -> Bounce:
    if item.hint is None and item.reason is None:  # a local delivery agent's own wording
        item.hint = agent_reason(item.diagnostic, item.diagnostic_type)
    reason, status = decide(item)
    return Bounce(
        recipient=item.recipient.lower(),
        reason=reason,
        detected_by=detector_name,
        action=_ACTIONS.get(item.action or ""),
        status=status,
        reply_code=item.reply_code,
        diagnostic_code=item.diagnostic[:2000] or None,
        diagnostic_type=item.diagnostic_type,
        remote_mta=item.remote_mta,
        reporting_mta=item.reporting_mta,
        smtp_command=item.smtp_command,
        feedback_type=item.feedback_type,
        arrival_date=item.arrival_date,
        original_message_id=link.original_message_id,
        tracking_id=link.tracking_id,
        envelope_id=link.envelope_id,
        verp_recipient=link.verp_recipient,
        original_sender=link.original_sender,
        original_subject=link.original_subject,
        extracted_headers=link.extracted_headers,
    )
