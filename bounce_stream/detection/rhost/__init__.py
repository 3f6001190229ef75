"""Provider-specific error vocabularies (Sisimai's "rhost" layer), one module per provider.

A provider's own code or sentence is stronger evidence than a generic pattern, so when the
remote host belongs to a known provider and its rules recognise the diagnostic, that reason
wins. The remote host is the Remote-MTA, the reporting host, the bounce's sender, a host the
diagnostic names ("host mx.example.com") or links to (a provider's reply points at its own
error-code pages); never the recipient's domain, which says nothing of who answered (mail
for a yahoo.com address may be refused by a filter in front of it). Ordered for
determinism; the first provider whose rules recognise the text wins.
"""

from __future__ import annotations

import re
from typing import Protocol

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.asia import KDDI, TENCENT, NttDocomo
from bounce_stream.detection.rhost.cox import COX, Spectrum
from bounce_stream.detection.rhost.google import GOOGLE
from bounce_stream.detection.rhost.microsoft import EXCHANGE, MICROSOFT
from bounce_stream.detection.rhost.misc import APPLE, FACEBOOK, GODADDY, MESSAGELABS, MIMECAST
from bounce_stream.detection.rhost.orange import ORANGE
from bounce_stream.detection.rhost.yahoo import AOL, YAHOO
from bounce_stream.detection.textutil import lower_case_variant


class Provider(Protocol):
    """One receiving provider's rules."""

    @property
    def name(self) -> str: ...

    @property
    def hosts(self) -> re.Pattern[str]: ...

    def serves(self, hosts: str) -> bool: ...

    def reason(self, text: str, status: str | None, command: str | None) -> Reason | None: ...


PROVIDERS: tuple[Provider, ...] = (
    GOOGLE,
    MICROSOFT,
    YAHOO,
    AOL,
    APPLE,
    ORANGE,
    COX,
    Spectrum(),
    GODADDY,
    TENCENT,
    NttDocomo(),
    KDDI,
    FACEBOOK,
    MESSAGELABS,
    MIMECAST,
    EXCHANGE,
)


# ``h(?<!\wh)ost`` is ``\bhost``, searched faster (see statuscodes).
_HOST_IN_TEXT = re.compile(r"(?i)h(?<!\wh)ost\s+([a-z0-9][a-z0-9.-]+\.[a-z]{2,})")
# Without (?i), for lower-cased ASCII text: the same matches at the same offsets, found by
# skipping from "h" to "h" instead of trying the pattern at every position.
_HOST_IN_LOWER = lower_case_variant(_HOST_IN_TEXT)
# The host of a web link: "https://www.cox.com/residential/support/email-error-codes.html".
_LINK_HOST = re.compile(r"(?i)https?://([a-z0-9][a-z0-9.-]{0,200}\.[a-z]{2,})")
# Rules that apply whatever the host (a product's own codes, not a provider's).
_UNIVERSAL = tuple(provider for provider in PROVIDERS if provider.hosts.pattern == ".")
_SPECIFIC = tuple(provider for provider in PROVIDERS if provider.hosts.pattern != ".")
# One pass over the host names rules out the common case: no known provider involved.
_ANY_PROVIDER = re.compile(
    "(?i)"
    + "|".join(f"(?:{provider.hosts.pattern.removeprefix('(?i)')})" for provider in _SPECIFIC)
)


def providers_serving(hosts: str) -> tuple[Provider, ...]:
    """The known providers whose host names occur in ``hosts``, then the universal rules."""
    if _ANY_PROVIDER.search(hosts) is None:
        return _UNIVERSAL
    return tuple(provider for provider in _SPECIFIC if provider.serves(hosts)) + _UNIVERSAL


def provider_reason(
    providers: tuple[Provider, ...], texts: tuple[str, ...], status: str | None, command: str | None
) -> tuple[str, Reason] | None:
    """(provider name, reason) for the first text a serving provider's rules classify."""
    for text in texts:
        for provider in providers:
            reason = provider.reason(text, status, command)
            if reason is Reason.HOSTUNKNOWN and (status or "").startswith("4."):
                # A name that does not resolve for now is a DNS failure, retried; a domain
                # that does not exist is a permanent verdict no temporary status gives.
                reason = Reason.NETWORKERROR
            if reason is not None:
                return provider.name, reason
    return None


def apply_provider(ctx: Context, item: Evidence) -> str | None:
    """Let a known provider's own error vocabulary decide ``item.reason``; its name or None."""
    if item.reason is not None or item.action in ("delivered", "relayed", "expanded"):
        return None
    hosts = " ".join(
        filter(
            None,
            (
                item.remote_mta,
                item.reporting_mta,
                ctx.sender,
                _hosts_in_text(item.diagnostic[:500]),
            ),
        )
    )
    providers = providers_serving(hosts)
    if not providers:
        return None
    texts: tuple[str, ...] = (item.diagnostic,)
    if ctx.report_text and _about_recipient(item):
        # Providers that write their verdict in the human-readable part (Google).
        texts = (item.diagnostic, ctx.report_text[:2000])
    verdict = provider_reason(providers, texts, item.status, item.smtp_command)
    if verdict is None:
        return None
    item.reason = verdict[1]
    return verdict[0]


def _hosts_in_text(text: str) -> str:
    """The host names ``text`` introduces with "host", and those of the web pages it links
    to (a provider's reply points at its own help pages), space-separated."""
    links = _LINK_HOST.findall(text) if "://" in text else []
    return " ".join([_hosts_named(text), *links])


def _hosts_named(text: str) -> str:
    """The host names ``text`` introduces with "host", space-separated."""
    if _HOST_IN_LOWER is None or not text.isascii():
        return " ".join(_HOST_IN_TEXT.findall(text))
    lowered = text.lower()  # same length and offsets: ASCII
    if "host" not in lowered:
        return ""
    # Sliced from ``text``: the names as written, as findall on ``text`` returns them.
    return " ".join(
        [text[found.start(1) : found.end(1)] for found in _HOST_IN_LOWER.finditer(lowered)]
    )


def _about_recipient(item: Evidence) -> bool:
    """A diagnostic that is no SMTP reply, or a reply naming the recipient itself."""
    return item.reply_code is None or item.recipient in item.diagnostic.lower()
