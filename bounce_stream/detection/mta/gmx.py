"""GMX / mail.com and 1&1 (IONOS, "EinsUndEins"): Exim deployments with their own wording.

Both send Exim's "This message was created automatically by mail delivery software." notice
but end the report with "--- The header of the original message is following. ---" and word
the per-recipient error their own way:

- GMX quotes the address (``"a@b":``), then "SMTP error from remote server after RCPT
  command:", "host: mx.example.org" and the reply on the next lines; or, on one line,
  "SMTP error from remote server for TEXT command, host: mx (192.0.2.1) reason: 552 ...":
  the TEXT command is the message content, i.e. DATA.
- 1&1 lists the bare address and gives the error after "For the following reason:" ("Mail
  size limit exceeded. For explanation visit http://postmaster.1and1.com/...").
- A retry expiry is "Reason: delivery retry timeout exceeded".

The Exim reader does the rest; this one adds the remote host and the command.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.exim import Exim

_MARKER = "the header of the original message is following"
_HOST = re.compile(r"(?i)\bhost:\s*([a-z0-9][-a-z0-9.]*[a-z0-9])")
_TEXT_COMMAND = re.compile(r"(?i)\bfor\s+text\s+command\b")


class Gmx(Exim):
    """GMX and 1&1 "Mail delivery failed" notices."""

    name = "gmx"

    def claims(self, ctx: Context) -> bool:
        return _MARKER in ctx.body_text[:100_000].lower() and super().claims(ctx)

    def evidence(self, ctx: Context, address: str, diagnostic: str) -> Evidence:
        item = super().evidence(ctx, address, diagnostic)
        host = _HOST.search(diagnostic)
        if host is not None:
            item.remote_mta = host.group(1).lower()
        if _TEXT_COMMAND.search(diagnostic):
            item.smtp_command = "DATA"
        return item
