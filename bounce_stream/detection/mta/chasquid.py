"""chasquid (a Go SMTP server, internal/queue/dsn.go's template; wording read from the 1.11
binary with ``strings`` and from the bounces it writes).

Layout: Subject "Mail delivery failed: returning message to sender" (Exim's words, but no
Exim text), "Delivery of your message to the following recipient(s) failed permanently:", a
list of addresses, then "Technical details:" and one entry per recipient::

    - "a@b" (EMAIL) failed permanently with error:
        MAIL+RCPT 550 5.1.1 <a@b>: User unknown
    - "a@b" (EMAIL) failed repeatedly and timed out, last error:
        all MXs returned transient failures (last: Error saying hello: 421 ...)

then a message/global-delivery-status part (Status 5.0.0 for every permanent failure, 4.0.0
for every recipient given up: placeholders, the remote's own enhanced code is in the
Diagnostic-Code) and the original message.

The entry's type is the recipient's kind (EMAIL, or PIPE for an alias to a command, whose
error is the command's "exit status N"). "failed repeatedly and timed out" is chasquid giving
up after its queue lifetime (20 hours). Its own prefixes name the step that failed
(internal/courier/smtp.go): "Could not dial:", "Error creating client:" (the greeting),
"Error saying hello:", "TLS error:", "MAIL+RCPT", "DATA", "DATA writing:", "DATA closing".
"""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.rfc3464 import Rfc3464
from bounce_stream.detection.reasons import Reason

# One entry of "Technical details:": the address, its type and how it failed.
_ENTRY = re.compile(
    r'(?m)^- "([^"\n]{1,1000})" \(([A-Z]{1,20})\) failed '
    r"(permanently with error|repeatedly and timed out, last error):[ \t]*$"
)
_SIGNATURE = "delivery of your message to the following recipient(s) failed permanently:"
# chasquid's own prefix for the step that failed -> the SMTP command (CONN: the greeting).
_STEPS = (
    ("mail+rcpt ", "RCPT"),
    ("data", "DATA"),
    ("error creating client:", "CONN"),
    ("error saying hello:", "EHLO"),
    ("tls error:", "STARTTLS"),
    ("could not dial:", "CONN"),
)
_LAST = re.compile(r"(?i)\(last:\s*")
_DSN = Rfc3464()


class Chasquid:
    """chasquid's delivery status notifications."""

    name = "chasquid"

    def detect(self, ctx: Context) -> list[Evidence] | None:
        text = ctx.report_text
        if _SIGNATURE not in text[:8000].lower():
            return None
        entries: list[tuple[str, str, str]] = [
            (m.group(1), m.group(2), m.group(3)) for m in _ENTRY.finditer(text)
        ]
        if not entries:
            return None
        by_address: dict[str, tuple[str, str, str]] = {}
        for listed in entries:
            by_address.setdefault(listed[0].lower(), listed)
        found = _DSN.detect(ctx)
        if not found:
            return None
        # The text's entries and the DSN's blocks follow one list, in the same order (failed
        # recipients first, then those given up).
        same = len(entries) == len(found)
        for position, item in enumerate(found):
            entry = by_address.get(item.recipient)
            if entry is None and same:
                entry = entries[position]
            if entry is None:
                continue
            _, kind, how = entry
            if how.startswith("repeatedly"):
                item.gave_up = True
            if kind == "PIPE" and item.hint is None:
                item.hint = Reason.MAILERERROR  # the alias' command failed
            step = _step(item.diagnostic)
            if step is not None:
                item.smtp_command = step
            if step == "STARTTLS" and item.hint is None:
                item.hint = Reason.FAILEDSTARTTLS
            item.status = statuscodes.instead_of_placeholder(item.status, item.diagnostic)
        return found


def _step(diagnostic: str) -> str | None:
    """The SMTP command of chasquid's own prefix on the (last) error."""
    text = diagnostic.lower()
    last = _LAST.search(text)
    if last is not None:
        text = text[last.end() :]
    text = text.lstrip()
    for prefix, command in _STEPS:
        if text.startswith(prefix):
            return command
    return None
