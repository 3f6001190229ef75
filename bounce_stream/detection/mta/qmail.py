"""qmail-send and the MTAs that copied its wording (Yahoo!, vpopmail front ends, X2).

Layout: an introduction ("Hi. This is the qmail-send program at ..."), then one paragraph
per recipient that starts with ``<address>:`` on its own line, then
"--- Below this line is a copy of the message." Status codes, when any, are written as
``(#5.1.1)``; remote replies are quoted after "remote host ... said:".
"""

from __future__ import annotations

import re

from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason

QMAIL_MESSAGES: tuple[tuple[str, Reason], ...] = (
    ("no mailbox here by that name", Reason.USERUNKNOWN),
    ("does not like recipient.", Reason.USERUNKNOWN),
    ("disk quota exceeded", Reason.MAILBOXFULL),
    ("message size exceeds fixed maximum message size", Reason.MESGTOOBIG),
    ("sorry, i couldn't find any host ", Reason.HOSTUNKNOWN),
    ("mailbox unavailable (not enough free space)", Reason.SYSTEMFULL),
    ("bad interpreter: no such file or directory", Reason.SYSTEMERROR),
    ("sorry, i wasn't able to establish an smtp connection", Reason.NETWORKERROR),
    ("sorry, i couldn't find a mail exchanger or ip address", Reason.NOTACCEPT),
    ("although i'm listed as a best-preference mx or a for that host", Reason.NETWORKERROR),
)


class Qmail(TextBounce):
    """qmail-send bounces ("failure notice")."""

    name = "qmail"
    keywords = ("qmail", "afraid", "vdelivermail", "vpopmail", "machine")
    signature = re.compile(
        r"(?i)this\s+is\s+the\s+qmail-send\s+program|qmail-remote|"
        r"i'm\s+afraid\s+i\s+wasn't\s+able\s+to\s+deliver\s+your\s+message|"
        r"vdelivermail|vpopmail|This\s+is\s+the\s+machine\s+generated\s+message\s+from\s+mail\s+service"
    )
    messages = QMAIL_MESSAGES
    start = re.compile(
        r"(?i)(?:sorry\s+it\s+didn't\s+work\s+out|to\s+the\s+following\s+addresses?)[^\n]*\n"
    )


class Yahoo(TextBounce):
    """Yahoo! Mail: qmail-like paragraphs ("Sorry, we were unable to deliver your message")."""

    name = "yahoo"
    keywords = ("unable",)
    signature = re.compile(r"(?i)sorry,\s+we\s+were\s+unable\s+to\s+deliver\s+your\s+message")
    start = re.compile(r"(?i)to\s+the\s+following\s+address(?:es)?\.?[^\n]*\n")


class X2(TextBounce):
    """An unnamed qmail derivative: "Unable to deliver message to the following address(es)"."""

    name = "x2"
    keywords = ("unable",)
    signature = re.compile(r"(?i)unable\s+to\s+deliver\s+message\s+to\s+the\s+following\s+address")
    start = re.compile(r"(?i)following\s+address(?:\(es\)|es)?\.?[^\n]*\n")
