"""The lab's one table: each scenario, what the remote side (or the local delivery) does, and the
label a correct parser gives the bounce the MTA writes for it.

How a scenario reaches its failure (``stage``):

- ``RCPT``, ``DATA``, ``EOD``: the scripted server on ``MAIN_HOST`` answers the recipient, the
  DATA command or the end of data with ``reply`` (chosen by the recipient's local part, which is
  the scenario's name; ``+tag`` suffixes are ignored).
- ``BANNER``, ``EHLO``, ``MAIL``, ``STARTTLS``, ``TIMEOUT``: a server of its own on a loopback
  address of its own (a domain of its own is routed there by every MTA), which greets
  with the reply, rejects EHLO/HELO or MAIL, offers STARTTLS and fails it (then demands it), or
  never answers at all.
- ``REFUSED``: a loopback address nothing listens on.
- ``NOTLS``: a server that offers no STARTTLS, to which the MTA's policy requires TLS.
- ``NXDOMAIN``: a domain no MTA route names; the MTA asks DNS, and the lab's resolver (the only
  one the MTAs can see) says NXDOMAIN.
- ``LOCAL``: delivery on the MTA's own host (``local.lab.test``): unknown user, a command that
  exits 1, a mailbox file over its size limit, an auto-reply (Dovecot's LDA running a Sieve
  ``vacation`` script: the reply's label is ``vacation``, with no status).
- ``SUCCESS``: delivered, RCPT with NOTIFY=SUCCESS: the MTA sends a positive DSN.
- ``FEEDBACK``: delivered through a filter that reports it: OpenDMARC's failure report (RFC
  6591 ARF), labelled ``feedback`` with its feedback type and no status.

Labels follow docs/REASONS.md (Sisimai's vocabulary). ``status`` and ``replycode`` default to the
enhanced status code and reply code of ``reply``; where the MTA writes the failure itself (no
remote reply, or a local delivery), the status is the one the MTA's own DSN carries, given per MTA
in ``per_mta`` (read from the MTA's source/documentation and confirmed by running it). Temporary
failures are given up at once (queue lifetimes of seconds), so their bounces carry the 4.x.x
status and are never hard. The label's reason is the cause we set up,
except where the bounce's text says the MTA gave up retrying (``SAYS_IT_GAVE_UP``): then it is
``expired`` (docs/REASONS.md: "an MTA giving up after retries is expired"). A recipient
greylisted until the queue gave up is always ``expired`` (the remote never refused it). Where the
remote's reply carries an enhanced status code, that code is the label's status even when the
MTA's DSN says only x.0.0 (Exim writes 5.0.0 for every failure): the specific code wins, as in
Sisimai.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Stage = Literal[
    "BANNER", "EHLO", "MAIL", "STARTTLS", "RCPT", "DATA", "EOD",
    "TIMEOUT", "REFUSED", "NOTLS", "NXDOMAIN", "LOCAL", "SUCCESS", "MULTI", "FEEDBACK",
]

LAB_DOMAIN = "lab.test"
MAIN_HOST = "127.0.0.2"  # the scripted server deciding by recipient (RCPT, DATA, EOD)
COLLECTOR_HOST = "127.0.0.3"  # receives the bounces (the senders' domain) and delivered mail
DNS_HOST = "127.0.0.4"  # the only resolver the MTAs can see (UDP 53)
MAIN_DOMAIN = f"rcpt.{LAB_DOMAIN}"
RETURN_DOMAIN = f"return.{LAB_DOMAIN}"
LOCAL_DOMAIN = f"local.{LAB_DOMAIN}"
NX_DOMAIN = f"nx.{LAB_DOMAIN}"
# Where an MTA sends the postmaster's copies of its bounces (Postfix's bounce_notice_recipient);
# the copy names its scenario by the returned header's Message-ID (``message_id``).
NOTICE_DOMAIN = f"notice.{LAB_DOMAIN}"
NOTICE_RECIPIENT = f"postmaster@{NOTICE_DOMAIN}"
# Where DMARC failure reports (RFC 6591 ARF) go: the senders' domain asks for them (ruf=), in
# the only TXT record the lab's resolver knows; the report names its scenario as a copy does.
FAILURE_REPORT_RECIPIENT = f"ruf@{NOTICE_DOMAIN}"
TXT_RECORDS: Mapping[str, str] = {
    f"_dmarc.{RETURN_DOMAIN}": f"v=DMARC1; p=none; ruf=mailto:{FAILURE_REPORT_RECIPIENT}; fo=1",
}
DEDICATED_STAGES = ("BANNER", "EHLO", "MAIL", "STARTTLS", "TIMEOUT", "REFUSED", "NOTLS")


@dataclass(frozen=True)
class Label:
    """What a correct parser reports for one failed recipient."""

    reason: str
    status: str
    replycode: str
    hard: bool
    feedback_type: str = ""


@dataclass(frozen=True)
class Override:
    """An MTA's own wording decides status/reply code (and, rarely, the reason)."""

    status: str | None = None
    replycode: str | None = None
    reason: str | None = None
    hard: bool | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    stage: Stage
    reason: str
    hard: bool = False
    reply: str = ""  # the remote's reply line(s); {rcpt}, {sender} and {helo} are filled in
    status: str = ""  # default: the enhanced status code in ``reply``
    replycode: str = ""  # default: the reply code of ``reply``
    per_mta: Mapping[str, Override] = field(default_factory=dict)
    members: tuple[str, ...] = ()  # MULTI: the RCPT scenarios whose fates one message combines
    skip: Mapping[str, str] = field(default_factory=dict)  # MTA -> why it cannot express it
    # Only these instances run it (and instances named by any scenario here run only those).
    only: tuple[str, ...] = ()
    feedback_type: str = ""  # FEEDBACK: the report's Feedback-Type
    doc: str = ""

    def label(self, mta: str) -> Label:
        """The expected event for ``mta``'s bounce of this scenario (one recipient)."""
        o = self.per_mta.get(mta) or self.per_mta.get(family(mta), Override())
        status = self.status or _status_of(self.reply)
        replycode = self.replycode or _code_of(self.reply)
        reason = o.reason or self.reason
        if self.temporary and family(mta) in SAYS_IT_GAVE_UP:
            reason = "expired"
            gave_up = SAYS_IT_GAVE_UP[family(mta)]
            status = gave_up.status or status
            replycode = replycode if gave_up.quotes_reply else ""
        return Label(
            reason=reason,
            status=o.status if o.status is not None else status,
            replycode=o.replycode if o.replycode is not None else replycode,
            hard=o.hard if o.hard is not None else self.hard,
            feedback_type=self.feedback_type,
        )

    @property
    def temporary(self) -> bool:
        """A temporary failure (4xx, or no answer): a bounce only once the MTA gives up."""
        return self.stage in ("TIMEOUT", "REFUSED", "NOTLS") or self.reply.startswith("4")

    def applies_to(self, mta: str) -> bool:
        if self.only or mta in _DEDICATED_INSTANCES:
            return mta in self.only
        if family(mta) in _KEEPS_RETRYING and (
                self.temporary or any(BY_NAME[m].temporary for m in self.members
                                      if m != ACCEPTED)):
            return False
        if family(mta) in _SMARTHOST_ONLY and self.stage in (*DEDICATED_STAGES, "NXDOMAIN"):
            return False
        return mta not in self.skip and family(mta) not in self.skip


def family(mta: str) -> str:
    """The MTA a lab instance runs: ``exim_nobody`` (Exim with another bounce setting) is an
    ``exim``, whose labels it shares unless the table names the variant itself."""
    return mta.split("_", 1)[0]


def _status_of(reply: str) -> str:
    m = re.match(r"\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b", reply)
    return m.group(1) if m else ""


def _code_of(reply: str) -> str:
    m = re.match(r"(\d{3})", reply)
    return m.group(1) if m else ""


# Status the MTA writes where it decides itself. Postfix: bounce(8)/smtp(8) ("4.4.1" connect
# failure, "4.4.2" lost connection/timeout, "5.4.4" host not found, local(8) "5.1.1" unknown user,
# "5.3.0" command failure, "5.2.2" mailbox file too large). Exim: its DSN has 5.0.0 for every
# permanent failure without a remote code and 4.0.0 for temporary ones given up.
@dataclass(frozen=True)
class GaveUp:
    """How an MTA's bounce reports a temporary failure it gave up on."""

    status: str | None  # the status its DSN then carries (None: the remote's code decides)
    quotes_reply: bool  # whether the remote's last reply is in the bounce


_OS_GAVE_UP = "5.0.947"  # OpenSMTPD's "Envelope expired": see SAYS_IT_GAVE_UP


# MTAs whose bounce for a temporary failure says in words that it gave up retrying: their label
# for every temporary scenario is ``expired``. Exim quotes the last reply and adds "retry
# timeout exceeded" (its DSN says 5.0.0); Sendmail quotes it and says "Message could not be
# delivered for 3 seconds" (its DSN says 4.4.7): in both the quoted remote code decides the
# status, as in Sisimai. OpenSMTPD 6.8 writes only "Envelope expired" (Action: delayed,
# Status: 4.4.7) and quotes nothing: the label is expired with its pseudo code 5.0.947, as the
# corpus' curated labels have it for this very wording and DSN (lhost-opensmtpd-06 and -16:
# "Envelope expired", Status: 4.4.7, labelled expired 5.0.947). Postfix's bounce only repeats the
# last reply, so its label stays the cause.
SAYS_IT_GAVE_UP: Mapping[str, GaveUp] = {
    "exim": GaveUp(None, quotes_reply=True),
    "sendmail": GaveUp(None, quotes_reply=True),
    "opensmtpd": GaveUp(_OS_GAVE_UP, quotes_reply=False),
    # chasquid: '"a@b" (EMAIL) failed repeatedly and timed out, last error:' then the last
    # error it met, quoting the remote's reply (its DSN says 4.0.0).
    "chasquid": GaveUp(None, quotes_reply=True),
    # Haraka: "Failure Reason: Error: Too many failures (<last error>)" after its last retry
    # (outbound/hmail.js temp_fail), the remote's reply quoted. Its DSN makes the remote's
    # code permanent (convert_temp_failed_to_bounce: 4.x.y -> 5.x.y); the remote's own
    # temporary code is the specific one, as for Exim's 5.0.0.
    "haraka": GaveUp(None, quotes_reply=True),
}

_PF = "postfix"
_EX = "exim"
_OS = "opensmtpd"
_SM = "sendmail"
_CO = "courier"
_OS_EXPIRED = Override(reason="expired", status=_OS_GAVE_UP, replycode="")
# Sendmail's plain-text bounce (SendMimeErrors off) has no delivery-status part: where the MTA
# decides itself and quotes no reply ("Deferred: Connection refused by [ip]", "Message could
# not be delivered for 3 seconds"), no code at all, so the reason's pseudo code (permanent: the
# bounce is final), as for OpenSMTPD's placeholder below.
_ONE_LDA = "the lab's Postfix alone delivers through Dovecot's LDA (the reply is Pigeonhole's)"
_DMA_LOCAL = "dma delivers locally only for its own host name, to mailboxes of system users"
_DMA = "dma"
# chasquid retries (until it gives up: "failed repeatedly and timed out, last error: ...") a
# 5xx greeting or EHLO reply, a failed STARTTLS and a domain that does not resolve, as any
# temporary failure. Its bounce quotes the cause, which stays the label's reason where it is
# permanent (the remote's 5xx, a domain that does not exist), as for Postfix's 5xx greeting
# retried; its DSN's Status is 5.0.0 for every failure, 4.0.0 for every one given up.
_CQ = "chasquid"
_HK = "haraka"
_HK_LOCAL = "Haraka has no local delivery of its own (plugins queue to other servers)"
# Haraka 3.3 moves the recipients the remote refused at once, when others were accepted, to a
# message of their own (hmail.js split_to_new_recipients) which loses their replies: its
# bounce says only "Some recipients failed: <a>, <b>" and its DSN blocks have no Status or
# Diagnostic-Code. Nothing tells the cause: undefined (docs/REASONS.md: "an empty or
# boilerplate diagnostic keeps undefined"), its pseudo code, never hard.
_HK_SPLIT = Override(reason="undefined", status="5.0.900", replycode="", hard=False)
# MTAs whose retry schedule is compiled in (days): no temporary failure becomes a bounce in the
# lab's time, so they are sent none.
_KEEPS_RETRYING = frozenset({_DMA})
# MTAs that relay everything through one smarthost (the main server): no destination of its own
# (connection-level scenarios) and no DNS lookup.
_SMARTHOST_ONLY = frozenset({_DMA})
_SM_PLAIN = "sendmail_plain"
_PF_NOTICE = "postfix_notice"  # the postmaster's copies of Postfix's bounces
_NOT_A_BOUNCE = "the postmaster gets copies of bounces only"
_SM_PLAIN_EXPIRED = Override(status="5.0.947")

SCENARIOS: tuple[Scenario, ...] = (
    # --- remote rejections at RCPT
    Scenario("rcpt-unknown", "RCPT", "userunknown", hard=True,
             reply="550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
    Scenario("rcpt-mailboxfull", "RCPT", "mailboxfull",
             reply="552 5.2.2 <{rcpt}>: Recipient address rejected: Mailbox full, over quota"),
    Scenario("rcpt-disabled", "RCPT", "suspend",
             reply="550 5.2.1 The email account that you tried to reach is disabled."),
    Scenario("rcpt-moved", "RCPT", "hasmoved", hard=True,
             reply="551 5.1.6 User has moved; please try <new-address@rcpt.lab.test>"),
    Scenario("rcpt-relay", "RCPT", "norelaying",
             reply="550 5.7.1 <{rcpt}>: Relay access denied"),
    Scenario("rcpt-blocked", "RCPT", "blocked",
             reply="554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"),
    Scenario("rcpt-ptr", "RCPT", "requireptr",
             reply="550 5.7.25 Client host rejected: cannot find your reverse hostname, [127.0.0.1]"),
    Scenario("rcpt-greylist", "RCPT", "expired",
             reply="451 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/lab.test.html",
             doc="greylisted at every attempt until the queue lifetime ends"),
    Scenario("rcpt-toomany", "RCPT", "toomanyconn",
             reply="452 4.5.3 Error: too many recipients"),
    Scenario("rcpt-ratelimit", "RCPT", "speeding",
             reply="450 4.7.1 <{rcpt}>: Recipient address rejected: Rate limit exceeded, too many messages from your host, slow down"),
    # --- remote rejections before RCPT, each on a server of its own
    Scenario("banner-blocked", "BANNER", "blocked",
             per_mta={_PF: Override(status="4.7.1"),  # smtp_skip_5xx_greeting: tries later
                      _OS: _OS_EXPIRED},  # a 5xx greeting is a temporary failure to OpenSMTPD
             reply="554 5.7.1 mx.lab.test ESMTP not accepting messages from [127.0.0.1]: listed on bl.spamcop.net"),
    Scenario("banner-busy", "BANNER", "toomanyconn",
             reply="421 4.7.0 mx.lab.test Too many concurrent SMTP connections from this IP; please try again later"),
    Scenario("helo-rejected", "EHLO", "blocked",
             per_mta={_OS: _OS_EXPIRED},  # a 5xx to EHLO/HELO too
             reply="550 5.7.1 <{helo}>: Helo command rejected: Host not found"),
    Scenario("mail-rejected", "MAIL", "rejected",
             reply="553 5.1.8 <{sender}>: Sender address rejected: Domain not found"),
    Scenario("starttls-failed", "STARTTLS", "failedstarttls",
             # Courier gives the host up at the failed STARTTLS, quoting that reply.
             # chasquid and Haraka retry it (a 454 is temporary to them) and give up quoting
             # that reply: expired.
             per_mta={_CO: Override(status="4.7.0"),
                      _CQ: Override(reason="expired", status="4.7.0", replycode="454"),
                      _HK: Override(reason="expired", status="4.7.0", replycode="454")},
             reply="530 5.7.0 Must issue a STARTTLS command first",
             doc="STARTTLS offered, answered 454 4.7.0; the clear-text retry is refused at MAIL"),
    # --- remote rejections at DATA and at the end of data
    Scenario("data-rejected", "DATA", "policyviolation",
             reply="554 5.7.1 Delivery not authorized, message refused: DATA rejected by local policy"),
    Scenario("eod-spam", "EOD", "spamdetected",
             reply="550 5.7.1 Message rejected as spam by Content Filtering."),
    Scenario("eod-virus", "EOD", "virusdetected",
             reply="554 5.7.0 Message rejected: virus found (Eicar-Test-Signature)"),
    Scenario("eod-dmarc", "EOD", "authfailure",
             reply="550 5.7.26 Unauthenticated email from return.lab.test is not accepted due to domain's DMARC policy."),
    Scenario("eod-spf", "EOD", "authfailure",
             reply="550 5.7.23 The message was rejected because of Sender Policy Framework violation"),
    Scenario("eod-exceedlimit", "EOD", "exceedlimit",
             reply="552 5.2.3 Message size exceeds maximum permitted for this mailbox"),
    Scenario("eod-mesgtoobig", "EOD", "mesgtoobig",
             reply="552 5.3.4 Message size exceeds fixed limit"),
    Scenario("eod-content", "EOD", "contenterror",
             reply="554 5.6.0 Message contains invalid header"),
    Scenario("eod-systemfull", "EOD", "systemfull",
             reply="452 4.3.1 Insufficient system storage"),
    # --- failures the MTA writes itself
    Scenario("conn-timeout", "TIMEOUT", "networkerror",
             per_mta={_PF: Override(status="4.4.2"), _EX: Override(status="5.0.0"),
                      _OS: Override(status=_OS_GAVE_UP), _SM: Override(status="4.4.7"),
                      _SM_PLAIN: _SM_PLAIN_EXPIRED, _CO: Override(status="5.0.0"),
                      _HK: Override(status="5.1.2")},  # "Tried all MXs", as conn-refused
             skip={_OS: "OpenSMTPD's connect and greeting timeouts are compiled in (minutes)",
                   _CQ: "chasquid's connect and greeting timeouts are compiled in (minutes)"},
             doc="the server accepts the connection and never greets"),
    Scenario("conn-refused", "REFUSED", "networkerror",
             per_mta={_PF: Override(status="4.4.1"), _EX: Override(status="5.0.0"),
                      _OS: Override(status=_OS_GAVE_UP), _SM: Override(status="4.4.7"),
                      _SM_PLAIN: _SM_PLAIN_EXPIRED, _CO: Override(status="5.0.0"),
                      _CQ: Override(status="4.0.0"),
                      # Haraka's own "Tried all MXs" (DSN.addr_bad_dest_system: 5.1.2).
                      _HK: Override(status="5.1.2")}),
    Scenario("dns-nxdomain", "NXDOMAIN", "hostunknown", hard=True,
             # OpenSMTPD's 5.0.0 is its placeholder for every failure it words itself ("Domain
             # does not exist"): no real code, so the reason's pseudo code (docs/REASONS.md),
             # as the corpus labels the same wording (lhost-opensmtpd-10).
             per_mta={_PF: Override(status="5.4.4"), _EX: Override(status="5.0.0"),
                      _OS: Override(status="5.0.912"),
                      _SM: Override(status="5.1.2", replycode="550"),
                      _CO: Override(status="5.0.0"),
                      _CQ: Override(status="4.0.0"),
                      # "Nowhere to deliver mail to for domain" (addr_bad_dest_system).
                      _HK: Override(status="5.1.2")}),
    # --- one message, several recipients, different fates (one delivered)
    Scenario("multi-fates", "MULTI", "", per_mta={_HK: _HK_SPLIT},
             members=("rcpt-ok", "rcpt-unknown", "rcpt-mailboxfull", "rcpt-greylist", "rcpt-relay")),
    # --- local delivery on the MTA's host
    Scenario("local-unknown", "LOCAL", "userunknown", hard=True,
             skip={_OS: "OpenSMTPD rejects an unknown local user at RCPT: no bounce",
                   _CQ: "chasquid rejects an unknown local user at RCPT: no bounce",
                   _HK: _HK_LOCAL,
                   _SM: "Sendmail rejects an unknown local user at RCPT: no bounce",
                   _CO: "Courier checks local users at RCPT (through authdaemond): no bounce",
                   _DMA: _DMA_LOCAL},
             # Exim writes "Unrouteable address" (route.c) for any address no router accepts,
             # an unknown local part as much as an unknown domain (its dns-nxdomain bounce is
             # word for word the same): Sisimai's Exim table, which docs/REASONS.md follows,
             # reads it as hostunknown (hard, like userunknown).
             per_mta={_PF: Override(status="5.1.1"),
                      _EX: Override(status="5.0.0", reason="hostunknown"),
                      _OS: Override(status="5.0.0"), _SM: Override(status="5.1.1")}),
    Scenario("local-pipefail", "LOCAL", "mailererror",
             per_mta={_PF: Override(status="5.3.0"), _EX: Override(status="5.0.0"),
                      _OS: Override(status="5.3.0"), _SM: Override(status="5.3.0"),
                      _CO: Override(status="5.0.0"), _CQ: Override(status="5.0.0")},
             skip={_DMA: _DMA_LOCAL, _HK: _HK_LOCAL},
             doc="the recipient's alias is a command that exits 1 with a message on stderr"),
    Scenario("local-quota", "LOCAL", "mailboxfull",
             skip={_OS: "OpenSMTPD has no mailbox size limit",
                   _SM: "Sendmail has no mailbox size limit of its own",
                   _CO: "Courier's quotas are maildir quotas of authenticated accounts",
                   _CQ: "chasquid has no mailbox size limit of its own",
                   _HK: _HK_LOCAL,
                   _DMA: _DMA_LOCAL},
             per_mta={_PF: Override(status="5.2.2"), _EX: Override(status="5.0.0"),
                      _OS: Override(status="5.0.0"), _SM: Override(status="5.2.2")},
             doc="the recipient's mailbox file is over its size limit"),
    # --- not failures
    Scenario("dsn-success", "SUCCESS", "delivered", status="2.0.0",
             skip={_SM_PLAIN: "Sendmail offers no DSN extension when SendMimeErrors is off",
                   _PF_NOTICE: _NOT_A_BOUNCE, _DMA: "dma has no DSN extension",
                   _CQ: "chasquid has no DSN extension", _HK: "Haraka has no DSN extension"},
             doc="RCPT ... NOTIFY=SUCCESS, accepted by the remote (which offers no DSN): relayed"),
    # --- the MTA's own TLS policy fails: TLS required, the server offers no STARTTLS
    Scenario("tls-required", "NOTLS", "failedstarttls",
             per_mta={_PF: Override(status="4.7.4"), _EX: Override(status="5.0.0"),
                      _OS: Override(status=_OS_GAVE_UP),
                      # Its DSN block has no Status: the reason's pseudo code (permanent).
                      _HK: Override(status="5.0.947")},
             skip={_SM: "Sendmail's per-destination TLS requirement needs an access database",
                   _CQ: "chasquid's TLS requirement is MTA-STS (HTTPS) or its learned security level",
                   _CO: "Courier's per-route TLS requirement is its own SECURITY extension"},
             doc="Postfix smtp_tls_policy_maps encrypt, Exim hosts_require_tls, OpenSMTPD smtp+tls://"),
    # --- several recipients, each refused for good at RCPT (one bounce for all, one delivered)
    Scenario("multi-permanent", "MULTI", "", per_mta={_HK: _HK_SPLIT},
             members=("rcpt-unknown", "rcpt-ok", "rcpt-relay", "rcpt-disabled")),
    # --- a DMARC failure report (ARF) on a delivered message (dev.bouncelab.opendmarc)
    Scenario("dmarc-failure", "FEEDBACK", "feedback", feedback_type="auth-failure",
             only=("postfix_dmarc",)),
    # --- an auto-reply: the local recipient's Sieve script answers (Pigeonhole's vacation)
    Scenario("local-vacation", "LOCAL", "vacation",
             skip={_EX: _ONE_LDA, _OS: _ONE_LDA, _SM: _ONE_LDA, _CO: _ONE_LDA, _DMA: _ONE_LDA,
                   _CQ: _ONE_LDA, _HK: _ONE_LDA,
                   _PF_NOTICE: _NOT_A_BOUNCE},
             doc="Dovecot's LDA with a Sieve vacation script delivers (dev.bouncelab.pigeonhole)"),
)

BY_NAME: Mapping[str, Scenario] = {s.name: s for s in SCENARIOS}
_DEDICATED_INSTANCES = frozenset(m for s in SCENARIOS for m in s.only)
ACCEPTED = "rcpt-ok"  # a MULTI member the main server accepts (delivered, no event)

# Addresses carry opaque tokens, never the scenario's name: the bounce quotes them and the
# classifier must not read "unknown" or "spam" out of an address.
TOKENS: Mapping[str, str] = {s.name: f"s{i:02d}" for i, s in enumerate(SCENARIOS)}
BY_TOKEN: Mapping[str, Scenario] = {TOKENS[s.name]: s for s in SCENARIOS}


def _dedicated_domain(s: Scenario) -> str:
    return f"h{TOKENS[s.name][1:]}.{LAB_DOMAIN}"


def dedicated_host(index: int) -> str:
    """The loopback address of the ``index``-th dedicated server (BANNER ... REFUSED)."""
    return f"127.0.0.{20 + index}"


def dedicated_routes() -> dict[str, str]:
    """Domain -> loopback address of every scenario with a server of its own."""
    dedicated = [s for s in SCENARIOS if s.stage in DEDICATED_STAGES]
    return {_dedicated_domain(s): dedicated_host(i) for i, s in enumerate(dedicated)}


def tls_required_hosts() -> list[str]:
    """The loopback addresses to which the MTAs' policy requires TLS (``NOTLS`` scenarios)."""
    return [host for domain, host in dedicated_routes().items()
            if (s := dedicated_scenario(domain)) is not None and s.stage == "NOTLS"]


def dedicated_scenario(domain: str) -> Scenario | None:
    for s in SCENARIOS:
        if s.stage in DEDICATED_STAGES and _dedicated_domain(s) == domain:
            return s
    return None


def routes() -> dict[str, str]:
    """Every domain the MTAs route by hand (anything else goes through the lab's DNS)."""
    return {MAIN_DOMAIN: MAIN_HOST, RETURN_DOMAIN: COLLECTOR_HOST, **dedicated_routes()}


def envelope(s: Scenario) -> list[str]:
    """The envelope recipients of scenario ``s``'s one message."""
    tok = TOKENS[s.name]
    if s.stage == "MULTI":
        return [f"{'ok' if m == ACCEPTED else TOKENS[m]}.{tok}.{i}@{MAIN_DOMAIN}"
                for i, m in enumerate(s.members)]
    if s.stage in DEDICATED_STAGES:
        return [f"user@{_dedicated_domain(s)}"]
    if s.stage == "NXDOMAIN":
        return [f"user@{NX_DOMAIN}"]
    if s.stage == "LOCAL":
        return [f"{tok}@{LOCAL_DOMAIN}"]
    return [f"{tok}@{MAIN_DOMAIN}"]


def local_part(s: Scenario) -> str:
    """The local part of a LOCAL scenario's recipient (the MTA's alias/user name)."""
    return TOKENS[s.name]


def expected(s: Scenario, mta: str) -> dict[str, Label]:
    """Recipient -> label of every recipient of ``s`` that the bounce must report."""
    rcpts = envelope(s)
    if s.stage == "MULTI":
        out: dict[str, Label] = {}
        # The MULTI scenario's own override (per_mta) is for its members refused at once.
        o = s.per_mta.get(mta) or s.per_mta.get(family(mta))
        for rcpt, member in zip(rcpts, s.members, strict=True):
            if member != ACCEPTED:
                label = BY_NAME[member].label(mta)
                if o is not None and not BY_NAME[member].temporary:
                    label = Label(reason=o.reason or label.reason,
                                  status=o.status if o.status is not None else label.status,
                                  replycode=o.replycode if o.replycode is not None
                                  else label.replycode,
                                  hard=o.hard if o.hard is not None else label.hard)
                out[rcpt] = label
        return out
    return {r: s.label(mta) for r in rcpts}


def remote_behaviour(local_part: str) -> Scenario | None:
    """The scenario the main server plays for a recipient local part (``token[.more]``)."""
    return BY_TOKEN.get(local_part.split(".", 1)[0])


def sender(mta: str, s: Scenario) -> str:
    """The envelope sender of a scenario's message: the bounce comes back to it."""
    return f"{mta}.{TOKENS[s.name]}@{RETURN_DOMAIN}"


def message_id(mta: str, s: Scenario, unique: str) -> str:
    """The Message-ID of scenario ``s``'s message through ``mta`` (``unique``: any digits)."""
    return f"<{mta}.{TOKENS[s.name]}.{unique}@{RETURN_DOMAIN}>"


_MESSAGE_ID = re.compile(rf"<([a-z_]+)\.(s\d+)\.\d+@{re.escape(RETURN_DOMAIN)}>")


def scenario_of_message_id(text: str) -> tuple[str, Scenario] | None:
    """(mta, scenario) of the first lab Message-ID in ``text`` (a bounce quoting the header)."""
    m = _MESSAGE_ID.search(text)
    s = BY_TOKEN.get(m.group(2)) if m else None
    return (m.group(1), s) if m and s is not None else None


def scenario_of_sender(address: str) -> tuple[str, Scenario] | None:
    """(mta, scenario) of a bounce's envelope recipient, the sender of ``sender()``."""
    local = address.split("@", 1)[0]
    mta, _, tok = local.rpartition(".")
    s = BY_TOKEN.get(tok)
    return (mta, s) if s is not None and mta else None
