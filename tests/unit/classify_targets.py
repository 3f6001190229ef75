"""Classify functions for the pool tests, imported by name inside the worker processes."""

from __future__ import annotations

import os

from bounce_stream.detection import ParseOptions, ParseResult, parse

HANG_MARKER = b"X-Test-Hang: forever"
EXIT_MARKER = b"X-Test-Exit: now"


def hang_on_marker(raw: bytes, options: ParseOptions) -> ParseResult:
    """``parse``, except that a message holding HANG_MARKER spins forever."""
    while HANG_MARKER in raw:
        pass
    return parse(raw, options)


def exit_on_marker(raw: bytes, options: ParseOptions) -> ParseResult:
    """``parse``, except that a message holding EXIT_MARKER ends the worker process."""
    if EXIT_MARKER in raw:
        os._exit(3)
    return parse(raw, options)


def environment_names(raw: bytes, options: ParseOptions) -> ParseResult:
    """The names of the worker's environment variables, carried in ``error``."""
    return ParseResult(error=" ".join(sorted(os.environ)))
