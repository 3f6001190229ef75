"""Courier MTA (courier-mta's courierdsn).

Layout (Courier 1.0's dsnheader.txt / dsnfailed.txt / dsndelayed.txt / dsnfooter.txt): "This
is a delivery status notification from H, running the Courier mail server, version V.",
then a boxed title, "UNDELIVERABLE MAIL" ("Your message to the following recipients cannot be
delivered:") or "DELAYS IN DELIVERING YOUR MESSAGE" ("This is an advisory notice for the
following addresses only:"), then one paragraph per recipient::

    <a@b>:
        mx.example.org [192.0.2.1]:
    >>> RCPT TO:<a@b>
    <<< 550 5.1.1 <a@b>... User unknown

(the remote host line, the last command sent and the reply; Courier's own errors stand
alone: "<<< No such domain.", "<<< DNS lookup failed."), then a message/delivery-status part.
Subjects are "NOTICE: mail delivery status." and "WARNING: delayed mail.".

The delivery-status fields are read as any DSN's; the text paragraph adds what they lack:
the SMTP command, the remote host, and Courier's own sentences. Courier's Status field is a
placeholder (5.0.0 for every failure, whatever the remote said: courierdsn writes no other), so
the remote's own enhanced code quoted in the paragraph is the status. The paragraph names the
recipient as the sender wrote it; the Final-Recipient of an alias to a program or file is
Courier's internal alias account (``".xalias/a@b"@host``), so a DSN entry the text does not name
is paired with the text's paragraph at the same position. A failure of such an alias is its
delivery program's (the paragraph holds only the program's output): mailererror, unless the
text says more.
"""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.rfc3464 import Rfc3464
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.textutil import squeeze

# The paragraph's first line after the address: "mx.example.org [192.0.2.1]:".
_REMOTE_HOST = re.compile(r"(?i)\A\s*([a-z0-9][-a-z0-9.]*[a-z0-9])\.?\s+\[[0-9a-f.:]+\]:")
# The last command Courier sent: ">>> RCPT TO:<a@b>", ">>> DATA".
_SENT = re.compile(r">>>\s*(EHLO|HELO|MAIL|RCPT|DATA|STARTTLS|QUIT)\b", re.I)
_DSN = Rfc3464()
_DELAYED = re.compile(r"(?i)delays\s+in\s+delivering\s+your\s+message")
# Courier's alias account for aliases to programs and files (makealiases(8)): the local part
# of a Final-Recipient '".xalias/a@b"@host' (the DSN reader may drop the quotes and the dot).
_ALIAS_ACCOUNT = "xalias/"


class Courier(TextBounce):
    """Courier delivery status notifications."""

    name = "courier"
    keywords = ("courier", "status.", "delayed")
    # Courier's own name, or its fixed subjects (dsnsubjectnotice.txt, dsnsubjectwarn.txt);
    # the boxed titles alone are not enough, other software may use the same words.
    signature = re.compile(
        r"(?i)running\s+the\s+courier\s+mail\s+server|notice:\s+mail\s+delivery\s+status\.|"
        r"warning:\s+delayed\s+mail\."
    )
    start = re.compile(
        r"(?i)(?:following\s+recipients\s+cannot\s+be\s+delivered|"
        r"advisory\s+notice\s+for\s+the\s+following\s+addresses\s+only):?[^\n]*\n"
    )
    end = re.compile(r"(?m)^-{20,}[ \t]*$")
    messages = (
        ("no such domain.", Reason.HOSTUNKNOWN),
        ("dns lookup failed.", Reason.NETWORKERROR),
        ("this domain's dns violates rfc 1035.", Reason.SYSTEMERROR),
        # A connection that failed: Courier writes the system's error message alone
        # (strerror of connect(2)'s ECONNREFUSED, ETIMEDOUT, ENETDOWN, ENETUNREACH,
        # EHOSTUNREACH, EHOSTDOWN).
        ("connection refused", Reason.NETWORKERROR),
        ("connection timed out", Reason.NETWORKERROR),
        ("network is down", Reason.NETWORKERROR),
        ("network is unreachable", Reason.NETWORKERROR),
        ("no route to host", Reason.NETWORKERROR),
        ("host is down", Reason.NETWORKERROR),
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        from_text = super().detect(ctx)
        if from_text is None:
            return None
        from_dsn = _DSN.detect(ctx)
        if not from_dsn:
            if _DELAYED.search(ctx.report_text) is not None:  # an advisory notice only
                for item in from_text:
                    item.action = "delayed"
            return from_text
        by_recipient = {item.recipient: item for item in from_text}
        named = {item.recipient for item in from_dsn}
        same_count = len(from_dsn) == len(from_text)
        for position, item in enumerate(from_dsn):
            text = by_recipient.get(item.recipient)
            if text is None and same_count and from_text[position].recipient not in named:
                text = from_text[position]
                alias = _ALIAS_ACCOUNT in item.recipient
                item.recipient = text.recipient
                if alias and item.remote_mta is None and text.hint is None:
                    text.hint = Reason.MAILERERROR
            if text is None:
                continue
            # The paragraph's ">>>" line is this recipient's; the DSN reader may have taken
            # another recipient's from the report text.
            item.smtp_command = text.smtp_command
            item.remote_mta = item.remote_mta or text.remote_mta
            item.hint = item.hint or text.hint
            item.status = statuscodes.instead_of_placeholder(item.status, item.diagnostic)
        return from_dsn

    def evidence(self, ctx: Context, address: str, diagnostic: str) -> Evidence:
        # The whole paragraph under "<a@b>:": its ">>> RCPT TO:<a@b>" line names an address
        # too, so the generic block reader splits it there.
        paragraph = _paragraph(self.section(ctx), address) or diagnostic
        item = super().evidence(ctx, address, paragraph)
        sent = _SENT.findall(paragraph)
        if sent:
            verb = sent[-1].upper()
            item.smtp_command = "EHLO" if verb == "HELO" else verb
        host = _REMOTE_HOST.match(paragraph)
        if host is not None:
            item.remote_mta = host.group(1).lower()
        if item.smtp_command == "STARTTLS" and item.hint is None:
            item.hint = Reason.FAILEDSTARTTLS  # refused at STARTTLS: TLS never started
        return item



def _paragraph(section: str, address: str) -> str:
    """The lines under the ``<address>:`` line of ``section`` up to a blank line, squeezed."""
    lowered = section.lower()
    at = lowered.find("<" + address + ">:")
    if at < 0:
        return ""
    start = lowered.find("\n", at)
    if start < 0:
        return ""
    end = lowered.find("\n\n", start)
    return squeeze(section[start : end if end >= 0 else len(section)])[:2000]
