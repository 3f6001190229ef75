"""Structured logging: JSON lines in production, readable lines on a terminal.

Every error path ends here as one structured line: the service's own events, other
libraries' stdlib logging records (:class:`_LibraryHandler`) and what asyncio would print
itself (:func:`asyncio_exception_handler`: unretrieved task exceptions, errors in protocol
callbacks). None of them carries a traceback or an exception's text from a library, and every
string value passes :func:`redact`, which blanks the secrets registered with
:func:`register_secret` (the IMAP passwords).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_secrets: set[str] = set()
_MASK = "***"
# Cut an asyncio message at its first detail: "Exception in callback X.y(args)" keeps
# "Exception in callback X.y"; "Fatal error: protocol.data_received() call failed." keeps
# "Fatal error". Reprs of handles, tasks and protocols (with their arguments) never pass.
_MESSAGE_HEAD = re.compile(r"^[^:(<{\[\n]{0,120}")


def register_secret(value: str) -> None:
    """Blank ``value`` wherever it would appear in a log line from now on."""
    if len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


def _redact_values(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return type(value)(_redact_values(v) for v in value)
    if isinstance(value, dict):
        return {k: _redact_values(v) for k, v in value.items()}
    return value


def _redact_processor(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if not _secrets:
        return event
    for key, value in event.items():
        event[key] = _redact_values(value)
    return event


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
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_SafePrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    # Library records become structured lines too (no traceback, text redacted).
    root = logging.getLogger()
    root.handlers[:] = [_LibraryHandler()]
    root.setLevel(logging.WARNING)
    # aiokafka logs connection trouble itself at ERROR on every retry; ours says it once.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    # aioimaplib's records can hold a command (a LOGIN holds the password): never shown.
    logging.getLogger("aioimaplib").setLevel(logging.CRITICAL + 1)
    # asyncio's own records are what its default exception handler prints; ours replaces it.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)


class _LibraryHandler(logging.Handler):
    """A stdlib logging record as one structured line: logger, level, redacted message."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = redact(record.getMessage())[:500]
            fields: dict[str, Any] = {"logger": record.name, "message": message}
            if record.exc_info and record.exc_info[0] is not None:
                fields["error"] = record.exc_info[0].__name__
            log = structlog.get_logger("bounce_stream")
            if record.levelno >= logging.ERROR:
                log.error("library_error", **fields)
            else:
                log.warning("library_warning", **fields)
        except Exception:  # a log line must never raise into the caller
            self.handleError(record)


def asyncio_exception_handler(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """What asyncio would print (unretrieved exceptions, failed callbacks) as one JSON line.

    Only the head of asyncio's message and the exception's type are kept: the context's
    task, handle and protocol reprs and the exception's text can hold a command or a secret.
    """
    exc = context.get("exception")
    head = _MESSAGE_HEAD.match(str(context.get("message") or ""))
    fields: dict[str, Any] = {"message": redact(head.group(0).strip() if head else "")}
    if isinstance(exc, BaseException):
        fields["error"] = type(exc).__name__
    task = context.get("task") or context.get("future")
    if isinstance(task, asyncio.Task):
        fields["task"] = redact(task.get_name())[:100]
    structlog.get_logger("bounce_stream").error("asyncio_error", **fields)


def install_asyncio_handler(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Route ``loop``'s (default: the running loop's) unhandled errors through the log."""
    (loop or asyncio.get_running_loop()).set_exception_handler(asyncio_exception_handler)


def get_logger(**bound: Any) -> Any:
    return structlog.get_logger("bounce_stream").bind(**bound)
