"""Offline message sources for ``bounce-stream parse``: .eml files, Maildir folders, mbox files."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class InputMessage:
    label: str
    raw: bytes | None
    error: str | None = None


def _is_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(5) == b"From "
    except OSError:
        return False


def iter_messages(paths: list[Path]) -> Iterator[InputMessage]:
    """Yield every message under ``paths``; unreadable ones carry an error, never raise."""
    for path in paths:
        label = str(path)
        if path.is_dir():
            if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
                md = mailbox.Maildir(path, factory=None, create=False)
                for key in sorted(md.iterkeys()):
                    try:
                        yield InputMessage(f"{label}#{key}", md.get_bytes(key))
                    except OSError as exc:
                        yield InputMessage(f"{label}#{key}", None, f"cannot read: {exc.strerror}")
            else:
                yield from iter_messages(
                    sorted(p for p in path.iterdir() if not p.name.startswith("."))
                )
            continue
        if _is_mbox(path):
            mb = mailbox.mbox(path, factory=None, create=False)
            for i, key in enumerate(mb.iterkeys(), start=1):
                yield InputMessage(f"{label}#{i}", mb.get_bytes(key))
            continue
        try:
            yield InputMessage(label, path.read_bytes())
        except OSError as exc:
            yield InputMessage(label, None, f"cannot read: {exc.strerror or exc}")
