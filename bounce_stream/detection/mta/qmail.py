"""qmail-send and the MTAs that copied its wording (Yahoo!, vpopmail front ends, X2).

Layout: an introduction ("Hi. This is the qmail-send program at ..."), then one paragraph
per recipient that starts with ``<address>:`` on its own line, then
"--- Below this line is a copy of the message." Status codes, when any, are written as
``(#5.1.1)``; remote replies are quoted after "remote host ... said:".

qmail-remote names the SMTP stage that failed in fixed sentences (netqmail 1.06
qmail-remote.c): "Connected to H but greeting failed." (the banner), "... but my name was
rejected." (HELO), "... but sender was rejected." (MAIL), "H does not like recipient."
(RCPT), "H failed on DATA command." and "H failed after I sent the message." (DATA); then
"Remote host said: <reply>", and "Giving up on H." when every MX failed. The host H is the
remote MTA. Its own errors are "Sorry, I couldn't find any host named H. (#5.1.2)" (or "by
that name. (#4.1.2)" when DNS failed temporarily), "Sorry, I wasn't able to establish an SMTP
connection. (#4.4.1)" and "Sorry. Although I'm listed as a best-preference MX or A for that
host, it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)" (a
configuration loop: networkerror, as Sisimai has it). qmail-local's and qmail-send's own
failures start "Unable to ..." ("Unable to open ...", "Unable to chdir to maildir. (#4.2.1)",
"Unable to switch to /var/qmail. (#4.3.0)"): a system error on the bouncing host. qmail-ldap
adds its own sentences (``QMAIL_LDAP_MESSAGES``).
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason

QMAIL_MESSAGES: tuple[tuple[str, Reason], ...] = (
    ("no mailbox here by that name", Reason.USERUNKNOWN),
    ("but sender was rejected.", Reason.REJECTED),  # MAIL FROM refused
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
# qmail-ldap's local delivery errors (qmail-ldap 1.03 qmail-lspawn / qmail-local), with the
# status each carries: the status decides where it is specific, these where it is not.
QMAIL_LDAP_MESSAGES: tuple[tuple[str, Reason], ...] = (
    ("mailaddress is administrativ", Reason.SUSPEND),  # "...ley disabled. (#5.2.1)"
    ("the message exeeded the maximum size the user accepts", Reason.EXCEEDLIMIT),  # 5.2.3
    ("automatic homedir creator crashed", Reason.SYSTEMERROR),  # 4.3.0
    ("illegal value in ldap attribute", Reason.SYSTEMERROR),  # 5.3.5
    ("ldap attribute is not given but mandatory", Reason.SYSTEMERROR),  # 5.3.5
    ("timeout while performing search on ldap server", Reason.SYSTEMERROR),  # 4.4.3
    ("too many results returned but needs to be unique", Reason.SYSTEMERROR),  # 5.3.5
    ("permanent error while executing qmail-forward", Reason.SYSTEMERROR),  # 5.4.4
    ("temporary error in automatic homedir creation", Reason.SYSTEMERROR),  # 4.3.0
    ("temporary error while executing qmail-forward", Reason.SYSTEMERROR),  # 4.4.4
    ("temporary failure in ldap lookup", Reason.SYSTEMERROR),  # 4.4.3
    ("unable to contact ldap server", Reason.SYSTEMERROR),  # 4.4.3
    ("unable to login into ldap server", Reason.SYSTEMERROR),  # 4.4.3
)
# qmail-remote's stage sentences and the SMTP command each names.
_STAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)connected\s+to\s+\S+\s+but\s+greeting\s+failed"), "CONN"),
    (re.compile(r"(?i)connected\s+to\s+\S+\s+but\s+my\s+name\s+was\s+rejected"), "EHLO"),
    (re.compile(r"(?i)connected\s+to\s+\S+\s+but\s+sender\s+was\s+rejected"), "MAIL"),
    (re.compile(r"(?i)\sdoes\s+not\s+like\s+recipient\."), "RCPT"),
    (re.compile(r"(?i)\sfailed\s+on\s+data\s+command"), "DATA"),
    (re.compile(r"(?i)\sfailed\s+after\s+i\s+sent\s+the\s+message"), "DATA"),
)
# Where qmail-remote names the remote host.
_REMOTE_HOST = re.compile(
    r"(?i)(?:connected\s+to\s+|giving\s+up\s+on\s+|remote\s+host\s+)"
    r"([a-z0-9][-a-z0-9.:]*[a-z0-9])(?=\.?\s|\.?$)"
    r"|(?:^|\s)([a-z0-9][-a-z0-9.:]*[a-z0-9])\s+(?:does\s+not\s+like|failed\s+(?:on|after))\s"
)
# qmail's own local failure: the recipient's paragraph starts with "Unable to".
# "(?<!\s)\s*+": white space is entered only where it starts and taken whole (linear even if
# searched; the same as "\s*" before a word).
_LOCAL_FAILURE = re.compile(r"(?i)(?<!\s)\s*+unable\s+to\s")


class Qmail(TextBounce):
    """qmail-send bounces ("failure notice")."""

    name = "qmail"
    keywords = ("qmail", "afraid", "vdelivermail", "vpopmail", "machine")
    signature = re.compile(
        r"(?i)this\s+is\s+the\s+qmail-send\s+program|qmail-remote|"
        r"i'm\s+afraid\s+i\s+wasn't\s+able\s+to\s+deliver\s+your\s+message|"
        r"vdelivermail|vpopmail|This\s+is\s+the\s+machine\s+generated\s+message\s+from\s+mail\s+service"
    )
    messages = QMAIL_MESSAGES + QMAIL_LDAP_MESSAGES
    start = re.compile(
        r"(?i)(?:sorry\s+it\s+didn't\s+work\s+out|to\s+the\s+following\s+addresses?)[^\n]*\n"
    )

    def evidence(self, ctx: Context, address: str, diagnostic: str) -> Evidence:
        item = super().evidence(ctx, address, diagnostic)
        item.smtp_command = qmail_stage(diagnostic) or item.smtp_command
        if _LOCAL_FAILURE.match(diagnostic):  # qmail's own failure, whatever its (#status)
            item.reason = Reason.SYSTEMERROR
        host = _REMOTE_HOST.search(diagnostic)
        if host is not None and item.remote_mta is None:
            item.remote_mta = (host.group(1) or host.group(2)).lower()
        return item


def qmail_stage(diagnostic: str) -> str | None:
    """The SMTP command qmail-remote's stage sentence in ``diagnostic`` names, if any."""
    for pattern, command in _STAGES:
        if pattern.search(diagnostic):
            return command
    return None


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


# The introductions of qmail clones that translated or reworded qmail-send's "Hi. This is the
# qmail-send program at ..." (as Sisimai's X4 records them).
#
# "he/her\s+is\s+not\s+[^\n]{1,80}\s+user" and "hi\.\s+[^\n]{1,120}\s+unable..." as written
# backtrack cubically over a run of white space (2.4 kB: seconds). _blanks_text_blanks finds
# the same matches in linear time: the white space before the text is taken whole and the text
# starts at the first other character; or else (no match that way) the text is one white-space
# character, not a newline, inside the run, which must then end at the word that follows.
# "\s++" before a word gives back nothing the word could use.
def _blanks_text_blanks(longest: int) -> str:
    """``\\s+[^\\n]{1,longest}\\s+`` before a word, written without backtracking in blanks."""
    return rf"(?:\s++[^\n]{{1,{longest}}}\s++|\s\n*+(?!\n)\s\s++)"


_CLONE_INTRO = (
    r"he/her\s+is\s+not" + _blanks_text_blanks(80) + r"user|"
    r"hi\." + _blanks_text_blanks(120) + r"unable\s+to\s+deliver\s+your\s+message\s+to\s+the\s+"
    r"following\s+addresses|"
    r"su\s+mensaje\s+no\s+pudo\s+ser\s+entregado|"
    r"this\s+is\s+the\s+mail\s+delivery\s+agent\s+at|"
    r"unfortunately,\s+your\s+mail\s+was\s+not\s+delivered\s+to\s+the\s+following\s+address:|"
    r"your\s+mail\s+message\s+to\s+the\s+following\s+address|"
    r"your\s+message\s+to\s+the\s+following\s+addresses"
)


class X4(Qmail):
    """qmail clones with their own introduction (Sisimai's X4).

    Layout: a reworded or translated introduction ("Su mensaje no pudo ser entregado",
    "Unfortunately, your mail was not delivered to the following address:", "This is the mail
    delivery agent at ...", "He/Her is not ... user"), then qmail's own paragraphs: ``<a@b>:``
    alone on a line, qmail-remote's stage sentence, "Remote host said: ...", "Giving up on H.",
    then "--- Below this line is a copy of the message." (or "--- Original message follows.").
    Only lines that hold nothing but the address start a recipient, as in qmail. Runs after
    every named layout: the introductions are generic sentences.
    """

    name = "x4"
    keywords = ("he/her", "unable", "mensaje", "agent", "following")
    signature = re.compile(r"(?i)" + _CLONE_INTRO)
    start = re.compile(r"(?i)(?:" + _CLONE_INTRO + r")[^\n]*\n")
    strict_lines = True
