"""Provider-specific error vocabularies (Sisimai's "rhost" layer), one module per provider.

A provider's own code or sentence is stronger evidence than a generic pattern, so when the
remote host (or the bounce's own reporting host) belongs to a known provider and its rules
recognise the diagnostic, that reason wins. Ordered for determinism; hosts do not overlap.
"""

from __future__ import annotations

from typing import Protocol

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.asia import TENCENT, NttDocomo
from bounce_stream.detection.rhost.cox import COX, Spectrum
from bounce_stream.detection.rhost.google import GOOGLE
from bounce_stream.detection.rhost.microsoft import MICROSOFT
from bounce_stream.detection.rhost.misc import FACEBOOK, GODADDY, MESSAGELABS, MIMECAST
from bounce_stream.detection.rhost.orange import ORANGE
from bounce_stream.detection.rhost.yahoo import YAHOO


class Provider(Protocol):
    """One receiving provider's rules."""

    @property
    def name(self) -> str: ...

    def serves(self, hosts: str) -> bool: ...

    def reason(self, text: str, status: str | None, command: str | None) -> Reason | None: ...


PROVIDERS: tuple[Provider, ...] = (
    GOOGLE,
    MICROSOFT,
    YAHOO,
    ORANGE,
    COX,
    Spectrum(),
    GODADDY,
    TENCENT,
    NttDocomo(),
    FACEBOOK,
    MESSAGELABS,
    MIMECAST,
)


def provider_reason(
    hosts: str, text: str, status: str | None, command: str | None
) -> tuple[str, Reason] | None:
    """(provider name, reason) when a known provider's rules classify ``text``."""
    for provider in PROVIDERS:
        if provider.serves(hosts):
            reason = provider.reason(text, status, command)
            if reason is not None:
                return provider.name, reason
    return None
