"""RFC 3464 delivery-status fields, read tolerantly.

Real MTAs fold fields, forget the blank line between recipient blocks, send the fields as
text/plain, or prefix them with ``X-`` variants. We unfold, then split recipient blocks at
blank lines *and* wherever a second Final-Recipient appears in one block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bounce_stream.detection.textutil import lower_case_variant

MAX_FIELDS = 2_000
_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9-]{1,60})[ \t]*:[ \t]*(.*)")
_PER_MESSAGE = frozenset(
    {
        "reporting-mta",
        "dsn-gateway",
        "received-from-mta",
        "arrival-date",
        "original-envelope-id",
        "x-original-message-id",
        "x-postfix-queue-id",
        "x-postfix-sender",
        "x-sender",
    }
)
_TYPE_NAME = re.compile(r"[A-Za-z0-9-]{1,20}")
DSN_HINT = re.compile(r"(?im)^(?:final|original)-recipient[ \t]*:")
STATUS_HINT = re.compile(r"(?im)^(?:status|action|diagnostic-code)[ \t]*:")
# The same patterns after a newline: with a literal first character the regex engine skips
# from newline to newline instead of trying ``^`` at every position (several times faster).
# ``(?m)^`` holds at position 0 or after a newline, so a match at 0 or a search of these
# finds a match exactly when the ``^`` pattern does.
_DSN_HINT_NL = re.compile(DSN_HINT.pattern.replace("(?im)^", r"(?i)\n", 1))
_STATUS_HINT_NL = re.compile(STATUS_HINT.pattern.replace("(?im)^", r"(?i)\n", 1))
_DSN_HINT_LOWER = lower_case_variant(DSN_HINT)
_STATUS_HINT_LOWER = lower_case_variant(STATUS_HINT)
_DSN_HINT_LOWER_NL = lower_case_variant(_DSN_HINT_NL)
_STATUS_HINT_LOWER_NL = lower_case_variant(_STATUS_HINT_NL)


@dataclass(slots=True)
class DeliveryStatus:
    """Per-message fields and one dict of fields per recipient (lower-case names)."""

    message: dict[str, str] = field(default_factory=dict)
    recipients: list[dict[str, str]] = field(default_factory=list)


def looks_like_dsn(text: str) -> bool:
    """Whether ``text`` carries RFC 3464 recipient fields."""
    if (
        _DSN_HINT_LOWER is not None
        and _STATUS_HINT_LOWER is not None
        and _DSN_HINT_LOWER_NL is not None
        and _STATUS_HINT_LOWER_NL is not None
        and text.isascii()
    ):
        # Lower-cased ASCII: the same answer from the faster case-sensitive patterns, and
        # none at all without the word every recipient field has.
        lowered = text.lower()
        return (
            "-recipient" in lowered
            and _at_line_start(lowered, _DSN_HINT_LOWER, _DSN_HINT_LOWER_NL)
            and _at_line_start(lowered, _STATUS_HINT_LOWER, _STATUS_HINT_LOWER_NL)
        )
    return _at_line_start(text, DSN_HINT, _DSN_HINT_NL) and _at_line_start(
        text, STATUS_HINT, _STATUS_HINT_NL
    )


def _at_line_start(
    text: str, at_line_start: re.Pattern[str], after_newline: re.Pattern[str]
) -> bool:
    """Whether ``at_line_start`` (a ``(?m)^`` pattern) matches in ``text``, found with its
    ``after_newline`` form."""
    return at_line_start.match(text) is not None or after_newline.search(text) is not None


def parse_delivery_status(text: str) -> DeliveryStatus:
    """Read the per-message and per-recipient fields of a delivery-status body."""
    result = DeliveryStatus()
    current: dict[str, str] = {}
    last: tuple[dict[str, str], str] | None = None
    count = 0
    for line in text.split("\n"):
        if not line or line.isspace():
            if current:  # an empty block needs no closing
                current = _close(result, current)
            last = None
            continue
        if line[0] in " \t" and last is not None:
            target, name = last
            target[name] = (target[name] + " " + line.strip())[:4000]
            continue
        match = _FIELD.match(line)
        if match is None:
            continue
        count += 1
        if count > MAX_FIELDS:
            break
        name, value = match.groups()
        name, value = name.lower(), value.strip()
        if name in _PER_MESSAGE:
            result.message.setdefault(name, value)
            last = (result.message, name)
            continue
        if name in ("final-recipient", "original-recipient") and name in current:
            current = _close(result, current)
        current.setdefault(name, value)
        last = (current, name)
    _close(result, current)
    return result


def _close(result: DeliveryStatus, block: dict[str, str]) -> dict[str, str]:
    if "final-recipient" in block or "original-recipient" in block:
        result.recipients.append(block)
    return {}


def typed_value(value: str | None) -> tuple[str | None, str]:
    """Split ``smtp; 550 ...`` into (``SMTP``, ``550 ...``)."""
    if not value:
        return None, ""
    kind, sep, rest = value.partition(";")
    if sep and _TYPE_NAME.fullmatch(kind.strip()):
        return kind.strip().upper(), rest.strip()
    return None, value.strip()
