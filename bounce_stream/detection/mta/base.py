"""The one interface every detector implements."""

from __future__ import annotations

from typing import Protocol

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence


class Detector(Protocol):
    """Recognises one bounce family. ``detect`` returns None when the message is not its kind.

    An empty list means "mine, but no recipient could be read"; the engine then keeps
    asking the next detectors.
    """

    name: str

    def detect(self, ctx: Context) -> list[Evidence] | None: ...
