"""Structured logging: JSON lines in production, readable lines on a terminal."""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

import structlog


class _SafePrintLogger(structlog.PrintLogger):
    """Drops a line it cannot write (stderr a closed pipe, a full disk): logging never raises,
    so a log call can never stop the service, its shutdown included."""

    def msg(self, message: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().msg(message)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class _SafePrintLoggerFactory:
    def __call__(self, *args: Any) -> _SafePrintLogger:
        return _SafePrintLogger(sys.stderr)


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_SafePrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    # aiokafka logs connection trouble itself at ERROR on every retry; ours says it once.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    logging.getLogger("aioimaplib").setLevel(logging.CRITICAL)


def get_logger(**bound: Any) -> Any:
    return structlog.get_logger("bounce_stream").bind(**bound)
