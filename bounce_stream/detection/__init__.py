"""Detection: raw message bytes in, typed per-recipient bounces out. Pure: no I/O.

``parse`` is the one entry point the pipeline and the ``parse`` command use.

Layout (the flow reads top to bottom):

- ``mime`` / ``headers`` / ``context``: a forgiving, bounded MIME reader and the views of a
  message detectors share (report text, returned original header, probes).
- ``registry`` and ``mta/``: one detector per bounce family / MTA behind one interface
  (``mta.base.Detector``), run in a fixed order; the first that reads recipients wins.
- ``decide`` with ``statuscodes`` (RFC 3463/5248 and pseudo codes) and ``reasontext/`` (the
  words that mean each reason): reason and status per recipient.
- ``rhost/``: receiving providers' own error vocabularies, stronger than generic words.
- ``correlate``: ids of what was sent (Message-ID, tracking header, ENVID, VERP).
- ``engine``: ties them together; ``model`` and ``reasons`` are the typed results.
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
