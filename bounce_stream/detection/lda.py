"""Local delivery agents: the programs that put a message into a mailbox, and their wording.

When the final step of a delivery is a local program and not an SMTP server, the bounce
quotes that program's own message, prefixed with its name or wrapped by the MTA that ran it:

- procmail: ``procmail: Quota exceeded while writing "/var/mail/a"``,
  ``procmail: No space left to finish writing "..."``;
- maildrop (Courier): ``maildrop: maildir over quota.``, ``maildrop: Timeout quota
  exceeded.``, ``Invalid user specified.``;
- mail.local (BSD/sendmail): ``mail.local: unknown user: a``, ``Disc quota exceeded``;
- vpopmail's vdelivermail and vmailmgr's vdeliver: ``vdelivermail: Sorry, no mailbox here by
  that name``, ``user is over quota``, ``vdeliver: Delivery failed due to system quota
  violation``;
- Dovecot's LDA / LMTP: ``Your message to <a> was automatically rejected:`` followed by
  ``Quota exceeded (mailbox for user is full)`` or ``Mailbox doesn't exist: INBOX``;
- Postfix's pipe(8) and local(8) wrapping any command: ``Command died with status 1:
  "/usr/bin/procmail". Command output: ...``, ``Command time limit exceeded``,
  ``mail forwarding loop for a``, ``unknown user: "a"``; local(8) and virtual(8) writing a
  mailbox themselves: ``cannot update mailbox /var/mail/a for user a. error writing message:
  Disk quota exceeded``, ``cannot append message to file ...: File too large``,
  ``maildir delivery failed: ...``, ``create maildir file ...: No space left on device``.

The wording above is the programs' own (their sources and binaries as Debian ships them).
REASONS.md: what an agent says about the mailbox (full, unknown user) is that reason; anything
else an agent reports is ``mailererror``. Only text that names an agent is read here, so a
remote server's SMTP reply is never taken for a local agent's.
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason

# Where a local agent speaks. Each alternative is the agent's own prefix or the sentence its
# caller wraps its output in; a match anywhere in the diagnostic is enough.
_AGENT = re.compile(
    r"(?:^|[\s\"'(;])(?:(?:procmail|maildrop|mail\.local|vdelivermail|vdeliver|dovecot-lda)"
    r"(?:\([^)\s]*\))?|lda\([^)\s]*\)):\s"
    r"|command\s+(?:died\s+with\s+(?:status|signal)\s+\d+|output:|time\s+limit\s+exceeded|"
    r"failed:)"
    r"|your\s+message\s+to\s+\S+\s+was\s+automatically\s+rejected:"
    r"|bin/(?:procmail|maildrop)\b"
    r"|mail\s+forwarding\s+loop\s+for\s"
    r"|cannot\s+(?:update\s+mailbox|append\s+message\s+to\s+file|access\s+home\s+directory)\s"
    r"|maildir\s+delivery\s+failed:|create\s+maildir\s+file\s"
)
# Every match of _AGENT contains one of these (lower-case); checked first, in C.
_AGENT_NEEDS = (
    "procmail",
    "maildrop",
    "mail.local",
    "deliver",
    "lda(",
    "command",
    "automatically rejected",
    "forwarding loop",
    "cannot ",
    "maildir",
)

# What an agent's own sentence means, first match wins (lower-case fragments). The order puts
# the timeout "quota" of maildrop before the mailbox quotas.
AGENT_MESSAGES: tuple[tuple[str, Reason], ...] = (
    ("timeout quota exceeded", Reason.MAILERERROR),  # maildrop: a time limit, not a mailbox
    ("quota exceeded", Reason.MAILBOXFULL),  # procmail, Dovecot, mail.local "disc quota"
    ("over quota", Reason.MAILBOXFULL),  # maildrop "maildir over quota", vpopmail
    ("system quota violation", Reason.MAILBOXFULL),  # vmailmgr
    ("not enough disk quota", Reason.MAILBOXFULL),  # Dovecot quota-status
    ("not enough disk space", Reason.MAILBOXFULL),  # Dovecot
    ("mailbox is full", Reason.MAILBOXFULL),
    ("mailbox full", Reason.MAILBOXFULL),
    ("file too large", Reason.MAILBOXFULL),  # Postfix local: mailbox_size_limit reached
    ("no space left to finish writing", Reason.SYSTEMFULL),  # procmail: the disk is full
    ("no space left on device", Reason.MAILBOXFULL),  # ENOSPC, Sisimai 5's reading
    ("unknown user", Reason.USERUNKNOWN),  # mail.local, Postfix local
    ("user unknown", Reason.USERUNKNOWN),
    ("invalid user specified", Reason.USERUNKNOWN),  # maildrop
    ("cannot find system user", Reason.USERUNKNOWN),  # maildrop
    ("no mailbox here by that name", Reason.USERUNKNOWN),  # vpopmail
    ("mailbox doesn't exist", Reason.USERUNKNOWN),  # Dovecot
    ("invalid or unknown virtual user", Reason.USERUNKNOWN),  # vmailmgr
    ("invalid or unknown base user or domain", Reason.USERUNKNOWN),  # vmailmgr
    ("user name does not refer to a virtual user", Reason.USERUNKNOWN),  # vmailmgr
    ("invalid mailbox path", Reason.USERUNKNOWN),  # mail.local
    ("user missing home directory", Reason.USERUNKNOWN),  # mail.local
    ("account is locked email bounced", Reason.SUSPEND),  # vpopmail
    ("mail forwarding loop for ", Reason.NETWORKERROR),  # Postfix local, Sisimai 5
    ("temporary file write error", Reason.SYSTEMERROR),  # mail.local
)


def agent_reason(diagnostic: str, diagnostic_type: str | None = None) -> Reason | None:
    """What ``diagnostic`` means when a local delivery agent wrote it; None when no agent
    speaks in it.

    An agent speaks where the text names one, or (its sentences only) where the DSN's
    diagnostic type is ``X-Unix``, a program's output. A named agent's sentence not in
    AGENT_MESSAGES is ``mailererror``; an ``X-Unix`` text that says nothing known is left to
    the status (sendmail's "X-Unix; 77" with 5.3.0 is a system error).
    """
    lowered = diagnostic[:4000].lower()
    named = any(map(lowered.__contains__, _AGENT_NEEDS)) and _AGENT.search(lowered) is not None
    if not named and (diagnostic_type or "").upper() != "X-UNIX":
        return None
    for phrase, reason in AGENT_MESSAGES:
        if phrase in lowered:
            return reason
    return Reason.MAILERERROR if named else None
