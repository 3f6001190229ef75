"""Offline message sources for ``bounce-stream parse``: .eml files, Maildir folders, mbox files."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class InputMessage:
    """One unit of input: one JSON line of ``parse`` output.

    ``raws`` holds one message, except for an ``.eml`` file that turns out to hold several
    (messages saved one after another with their mbox "From " lines): a file named as one
    message is reported as one unit, with the events of all its messages in order.
    """

    label: str
    raws: tuple[bytes, ...] = ()
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
        try:
            if path.is_dir():
                yield from _folder(path, label)
            elif _is_mbox(path):
                yield from _mbox(path, label)
            else:
                yield InputMessage(label, (path.read_bytes(),))
        except OSError as exc:
            yield InputMessage(label, (), f"cannot read: {exc.strerror or exc}")


def _folder(path: Path, label: str) -> Iterator[InputMessage]:
    if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
        md = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(md.iterkeys()):
            try:
                raw = md.get_bytes(key)
            except OSError as exc:
                yield InputMessage(f"{label}#{key}", (), f"cannot read: {exc.strerror}")
                continue
            yield InputMessage(f"{label}#{key}", (raw,))
        return
    children = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    yield from iter_messages(children)


def _mbox(path: Path, label: str) -> Iterator[InputMessage]:
    raw = path.read_bytes()
    if b"\n" not in raw:
        # Bare-CR line endings: the mailbox module cannot split them; detection itself
        # skips a leading "From " line, so hand the file over whole.
        yield InputMessage(label, (raw,))
        return
    mb = mailbox.mbox(path, factory=None, create=False)
    try:
        if path.suffix.lower() == ".eml":
            yield InputMessage(label, tuple(mb.get_bytes(key) for key in mb.iterkeys()))
            return
        for i, key in enumerate(mb.iterkeys(), start=1):
            yield InputMessage(f"{label}#{i}", (mb.get_bytes(key),))
    finally:
        mb.close()
