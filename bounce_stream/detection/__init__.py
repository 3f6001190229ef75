"""Detection: raw message bytes in, typed per-recipient bounces out. Pure: no I/O.

``parse`` is the one entry point the pipeline and the ``parse`` command use.
"""

from __future__ import annotations

from bounce_stream.detection.engine import classify
from bounce_stream.detection.model import (
    DEFAULT_TRACKING_HEADER,
    Action,
    Bounce,
    ParseOptions,
    ParseResult,
)
from bounce_stream.detection.reasons import BounceType, Reason

__all__ = [
    "DEFAULT_TRACKING_HEADER",
    "Action",
    "Bounce",
    "BounceType",
    "ParseOptions",
    "ParseResult",
    "Reason",
    "parse",
]

DEFAULT_OPTIONS = ParseOptions()


def parse(raw: bytes, options: ParseOptions = DEFAULT_OPTIONS) -> ParseResult:
    """Classify one message. Never raises: internal failures come back as ``error``."""
    try:
        return classify(raw, options)
    except Exception as exc:
        return ParseResult(error=f"detection failed: {type(exc).__name__}: {exc}"[:500])
