"""Provider-specific error vocabularies (Sisimai's "rhost" layer), one module per provider.

A provider's own code or sentence is stronger evidence than a generic pattern, so when the
remote host (or the bounce's own reporting host) belongs to a known provider and its rules
recognise the diagnostic, that reason wins. Ordered for determinism; hosts do not overlap.
"""

from __future__ import annotations

import re
from typing import Protocol

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.reasontext.matcher import required_literals
from bounce_stream.detection.rhost.asia import TENCENT, NttDocomo
from bounce_stream.detection.rhost.cox import COX, Spectrum
from bounce_stream.detection.rhost.google import GOOGLE
from bounce_stream.detection.rhost.microsoft import EXCHANGE, MICROSOFT
from bounce_stream.detection.rhost.misc import FACEBOOK, GODADDY, MESSAGELABS, MIMECAST
from bounce_stream.detection.rhost.orange import ORANGE
from bounce_stream.detection.rhost.yahoo import YAHOO
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
    ORANGE,
    COX,
    Spectrum(),
    GODADDY,
    TENCENT,
    NttDocomo(),
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
    "|".join(f"(?:{provider.hosts.pattern.removeprefix('(?i)')})" for provider in _SPECIFIC)
)


def _host_literals(pattern: str) -> tuple[str, ...]:
    r"""Literals one of which every match of a host pattern like ``(?:a\.com|b\.net)\b``
    contains; ``("",)`` (always search) when they cannot be told."""
    body = pattern.removesuffix(r"\b")
    if body.startswith("(?:") and body.endswith(")") and body.count("(") == 1:
        body = body[3:-1]
    return required_literals(body) or ("",)


# The same host patterns without (?i), for lower-cased ASCII text: there they match exactly
# where the case-insensitive ones do, three times faster. Every provider's ``serves`` is its
# ``hosts.search``; the patterns are lower case and free of escapes like \S or \B. Each comes
# with the literals one of which any match contains: a host list with none of them is not
# searched, which rules most providers out at the cost of a substring test.
_SPECIFIC_LOWER = tuple(
    (provider, lower, _host_literals(lower.pattern))
    for provider in _SPECIFIC
    for lower in (re.compile(provider.hosts.pattern.removeprefix("(?i)")),)
)
assert all(
    provider.hosts.pattern.startswith("(?i)") and lower.pattern == lower.pattern.lower()
    for provider, lower, _ in _SPECIFIC_LOWER
)


def _end(literal: str, before: int) -> str:
    """The last dot-label of a host literal with ``before`` characters before its dot
    ("le.com" for ".google.com" and 2); "" when it has none."""
    dot = literal.rfind(".")
    return literal[dot - before :] if before <= dot < len(literal) - 1 else ""


_Entries = tuple[tuple[str, int], ...]


def _by_end() -> tuple[tuple[str, tuple[tuple[str, _Entries], ...]], ...]:
    """(end, ((tail, its (literal, index in _SPECIFIC_LOWER)), ...)), ...: the literals by
    their last dot-label, then by that label with the two characters before its dot. A tail
    of a single literal is the literal itself; "" (in every text) gathers those without."""
    ends: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for index, (_, _, needs) in enumerate(_SPECIFIC_LOWER):
        for literal in needs:
            tails = ends.setdefault(_end(literal, 0), {})
            tails.setdefault(_end(literal, 2), []).append((literal, index))
    return tuple(
        (
            end,
            tuple(
                (entries[0][0] if len(entries) == 1 else tail, tuple(entries))
                for tail, entries in tails.items()
            ),
        )
        for end, tails in ends.items()
    )


# Each substring test is a scan of the host list. The literals are grouped by their ending
# (".com", ".net", ".fr", ".jp"), then by the two characters before it ("il.com" for gmail,
# hotmail, foxmail...): a host list without ".net" spares the tests of every ".net" literal
# (most lists lack two or three of the four ends), one without "il.com" those of five.
_BY_END = _by_end()


def _candidates(lowered: str) -> list[int]:
    """The indexes in _SPECIFIC_LOWER of the providers one of whose literals ``lowered`` has
    (repeated when several are there), in no particular order."""
    found: list[int] = []
    for end, tails in _BY_END:
        if end in lowered:
            for tail, entries in tails:
                if tail in lowered:
                    for literal, index in entries:
                        if literal in lowered:
                            found.append(index)
    return found


def providers_serving(hosts: str) -> tuple[Provider, ...]:
    """The known providers whose host names occur in ``hosts``, then the universal rules."""
    lowered = hosts.lower()
    if hosts.isascii():
        # Each lower-case pattern once costs about what the combined one does alone.
        candidates = _candidates(lowered)
        if not candidates:
            return _UNIVERSAL
        serving: list[Provider] = []
        for index in sorted(set(candidates)):  # provider order; each pattern searched once
            provider, lower, _ = _SPECIFIC_LOWER[index]
            if lower.search(lowered):
                serving.append(provider)
        return (*serving, *_UNIVERSAL)
    if _ANY_PROVIDER.search(lowered) is None:
        return _UNIVERSAL
    return tuple(provider for provider in _SPECIFIC if provider.serves(hosts)) + _UNIVERSAL


def provider_reason(
    providers: tuple[Provider, ...], texts: tuple[str, ...], status: str | None, command: str | None
) -> tuple[str, Reason] | None:
    """(provider name, reason) for the first text a serving provider's rules classify."""
    for text in texts:
        for provider in providers:
            reason = provider.reason(text, status, command)
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
