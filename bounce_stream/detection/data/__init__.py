"""Sisimai 5's reason phrases and provider tables, read from ``sisimai5-tables.json``.

The file is kept exactly as extracted from go-sisimai (BSD 2-Clause, see LICENSE-sisimai and
NOTICE); this module is the one place that reads it. The extraction flattened some upstream
maps, so rows are cleaned here, by rules that hold for the whole file:

- a row whose first string is a reason name (``["exceedlimit"]``, ``["syntaxerror", "503
  bad sequence of commands", ...]``) starts the rows of that reason: it was a map key; the
  strings after the name are phrases of it;
- a lone string that is neither wording (a letter, three letters or digits, a space or
  ``/.:=`` between words) nor a code token like ``POL-P1`` (``"_"``, ``"IB"``, ``"5.2.0"``,
  ``"RCPT"``, ``"spandetected"``) is a fragment of upstream code, not a table row; so is a part list
  with a part of fewer than three letters or digits, or with no part that is wording.

Rows are then returned in the provider's shape (see :func:`provider_rows`).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from typing import Any

from bounce_stream.detection.reasons import Reason

_FILE = "sisimai5-tables.json"
_REASONS = {reason.value: reason for reason in Reason}
_ALNUM = re.compile(r"[A-Za-z0-9]")
_CODE_TOKEN = re.compile(r"[A-Z]{2,}-[A-Z]+\d+")

Row = tuple[str, ...]


@cache
def _tables() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(files(__package__).joinpath(_FILE).read_text("utf-8"))
    return loaded


def reason_phrases(reason: Reason) -> tuple[tuple[str, ...], tuple[Row, ...]]:
    """Sisimai 5's lower-case phrases for ``reason``: (phrases any of which means it, ordered
    part lists all of whose parts appear in that order); empty for reasons it has none of."""
    entry = _tables()["reasons"].get(reason.value, {})
    index = tuple(dict.fromkeys(p.lower() for p in entry.get("index", ()) if _is_part(p)))
    pairs = tuple(
        tuple(part.lower() for part in parts)
        for parts in entry.get("pairs", ())
        if parts and all(map(_is_part, parts)) and any(map(_is_phrase, parts))
    )
    return index, pairs


def provider_rows(provider: str, width: int) -> tuple[tuple[Reason, Row], ...]:
    """The rows of one provider's table that have ``width`` strings, with their reasons, in
    file order. ``width`` is the provider's row shape: 1 for a phrase or code, 2 for (reply
    code, phrase), 3 for (reply code, status, phrase), 4 for (status or its "x.y." prefix,
    range low, range high, phrase); other widths are part lists (see :func:`provider_parts`)."""
    return tuple((reason, row) for reason, row in _provider(provider) if len(row) == width)


def provider_parts(provider: str) -> tuple[tuple[Reason, Row], ...]:
    """The ordered part lists (two or more phrases that all appear, in order) of a provider
    whose rows are otherwise single phrases (not of the wider tables: Google, Microsoft,
    Mimecast)."""
    return tuple(
        (reason, row)
        for reason, row in _provider(provider)
        if len(row) > 1 and all(map(_is_part, row)) and any(map(_is_phrase, row))
    )


def _provider(provider: str) -> list[tuple[Reason, Row]]:
    rows: list[tuple[Reason, Row]] = []
    for key, entries in _tables()["providers"][provider].items():
        reason = _REASONS[key]
        for entry in entries:
            strings = tuple(entry)
            head = strings[0].strip() if strings else ""
            if head in _REASONS:  # a flattened map key: the rows after it are its own
                reason = _REASONS[head]
                rows.extend((reason, (phrase,)) for phrase in strings[1:] if _is_phrase(phrase))
                continue
            if len(strings) == 1 and not _is_phrase(head):
                continue
            rows.append((reason, strings))
    return rows


def _is_phrase(text: str) -> bool:
    """Whether a lone string is a table row: wording (a letter, three letters or digits, a
    space between words) or a code token (``POL-P1``)."""
    stripped = text.strip()
    if _CODE_TOKEN.fullmatch(stripped):
        return True
    return (
        _is_part(stripped)
        and re.search("[A-Za-z]", stripped) is not None
        and re.search("[ /.:=]", stripped) is not None
    )


def _is_part(text: str) -> bool:
    """Whether a string of a part list (or a reason's phrase) has three letters or digits."""
    return len(_ALNUM.findall(text)) >= 3
