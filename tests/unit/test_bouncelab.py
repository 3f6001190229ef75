"""The bounce lab's pure parts: the scenario table's labels, the resolver's answer, and how a
bounce's recipients are found and ordered."""

from __future__ import annotations

import struct
from typing import Any

from dev.bouncelab import scenarios as sc
from dev.bouncelab.chasquid import backdated
from dev.bouncelab.lab import _bounces, _order
from dev.bouncelab.remote import Received, _NxDomain
from dev.bouncelab.score import _events, score


def test_label_takes_status_and_reply_code_from_the_remote_reply() -> None:
    """A remote rejection's label carries the enhanced status and reply code of its reply."""
    label = sc.BY_NAME["rcpt-unknown"].label("postfix")
    assert (label.reason, label.status, label.replycode, label.hard) == (
        "userunknown", "5.1.1", "550", True)


def test_temporary_failure_is_expired_only_where_the_bounce_says_it_gave_up() -> None:
    """A rate-limited recipient is ``speeding`` in Postfix's bounce (which repeats the reply) but
    ``expired`` in Exim's, Sendmail's and OpenSMTPD's (which say they gave up)."""
    s = sc.BY_NAME["rcpt-ratelimit"]
    assert (s.label("postfix").reason, s.label("postfix").status) == ("speeding", "4.7.1")
    assert (s.label("exim").reason, s.label("exim").status) == ("expired", "4.7.1")
    assert (s.label("sendmail").reason, s.label("sendmail").status) == ("expired", "4.7.1")
    # OpenSMTPD does not quote the reply: the expired pseudo code (as the corpus), no reply code.
    assert (s.label("opensmtpd").status, s.label("opensmtpd").replycode) == ("5.0.947", "")


def test_envelopes_are_opaque_and_distinct() -> None:
    """No recipient or sender address contains a scenario's name, and no two scenarios share a
    recipient, so a bounce maps back to exactly one scenario."""
    names = [s.name for s in sc.SCENARIOS]
    seen: set[str] = set()
    for s in sc.SCENARIOS:
        for address in [*sc.envelope(s), sc.sender("postfix", s)]:
            assert [n for n in names if n in address] == []
        rcpts = set(sc.envelope(s))
        assert not rcpts & seen
        seen |= rcpts
        assert sc.scenario_of_sender(sc.sender("exim", s)) == ("exim", s)


def test_multi_recipient_scenario_expects_only_the_failed_recipients() -> None:
    """The several-fates message expects one label per failed recipient, none for the
    delivered one, each with its member scenario's label."""
    s = sc.BY_NAME["multi-fates"]
    want = sc.expected(s, "postfix")
    assert len(want) == len(s.members) - 1
    assert sorted(lab.reason for lab in want.values()) == sorted(
        sc.BY_NAME[m].label("postfix").reason for m in s.members if m != sc.ACCEPTED)


class _Transport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append(data)


def _query(name: str, qid: int = 0x1234) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\x00" + b"\x00\x0f\x00\x01"


def test_resolver_answers_nxdomain_echoing_the_question() -> None:
    """The lab's resolver answers any query with RCODE 3 (NXDOMAIN), the same id and question."""
    proto = _NxDomain()
    transport = _Transport()
    proto.connection_made(transport)  # type: ignore[arg-type]
    query = _query("nx.lab.test")
    proto.datagram_received(query, ("127.0.0.1", 5353))
    (reply,) = transport.sent
    qid, flags, qd, an = struct.unpack("!HHHH", reply[:8])
    assert (qid, flags & 0x800F, qd, an) == (0x1234, 0x8003, 1, 0)
    assert reply[12:] == query[12:]
    proto.datagram_received(b"\x00" * 5, ("127.0.0.1", 5353))  # too short: ignored
    assert len(transport.sent) == 1


def _bounce(report_order: list[str], original_to: list[str]) -> bytes:
    blocks = "".join(f"\nFinal-Recipient: rfc822; {r}\nAction: failed\nStatus: 5.1.1\n"
                     for r in report_order)
    return (
        "Subject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nThe mail system could not deliver your message.\n"
        f"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n{blocks}\n"
        f"--B\nContent-Type: message/rfc822\n\nTo: {', '.join(original_to)}\n\nhello\n"
        "--B--\n"
    ).encode()


def test_order_follows_the_delivery_status_and_ignores_the_returned_message() -> None:
    """Recipients are reported in the delivery-status order, and a recipient named only in the
    returned original's To: is not counted as reported."""
    label = sc.BY_NAME["rcpt-unknown"].label("postfix")
    want = {"a@x.test": label, "b@x.test": label, "c@x.test": label}
    data = _bounce(["b@x.test", "a@x.test"], ["a@x.test", "b@x.test", "c@x.test"])
    assert [r for r, _ in _order(data, want)] == ["b@x.test", "a@x.test"]


def test_variant_shares_its_mtas_labels_unless_the_table_names_it() -> None:
    """A variant instance (``family_x``) gets its MTA's labels and skips, and an entry for the
    variant itself wins: Sendmail's plain-text bounce has no DSN status, so no 4.4.7."""
    refused = sc.BY_NAME["conn-refused"]
    assert refused.label("postfix_headers") == refused.label("postfix")
    assert refused.label("sendmail").status == "4.4.7"
    assert refused.label("sendmail_plain").status == "5.0.947"
    assert refused.label("sendmail_plain").reason == refused.label("sendmail").reason == "expired"
    assert not sc.BY_NAME["local-unknown"].applies_to("sendmail_plain")  # Sendmail's skip
    assert not sc.BY_NAME["dsn-success"].applies_to("sendmail_plain")  # the variant's own
    assert sc.BY_NAME["dsn-success"].applies_to("sendmail")


def test_vacation_reply_is_labelled_vacation_without_a_status() -> None:
    """The Sieve vacation scenario expects reason vacation, no status, no reply code, soft."""
    label = sc.BY_NAME["local-vacation"].label("postfix")
    assert (label.reason, label.status, label.replycode, label.hard) == ("vacation", "", "", False)
    assert not sc.BY_NAME["local-vacation"].applies_to("exim")


def test_plain_text_bounce_reports_its_failed_list_not_its_transcript() -> None:
    """In a plain-text bounce, a recipient named only in the session transcript (deferred, its
    own bounce comes later) is not one this bounce reports."""
    label = sc.BY_NAME["rcpt-unknown"].label("sendmail_plain")
    data = (
        b"Subject: Returned mail: see transcript for details\n\n"
        b"   ----- The following addresses had permanent fatal errors -----\n"
        b"<a@x.test>\n    (reason: 550 5.1.1 User unknown)\n\n"
        b"   ----- Transcript of session follows -----\n"
        b"<b@x.test>... Deferred: 451 4.7.1 Greylisted\n"
        b"550 5.1.1 <a@x.test>... User unknown\n"
    )
    assert [r for r, _ in _order(data, {"b@x.test": label, "a@x.test": label})] == ["a@x.test"]


def test_auto_reply_recipient_is_found_in_its_from_field() -> None:
    """An auto-reply names the replying recipient only in From:; that is the reported one."""
    label = sc.BY_NAME["local-vacation"].label("postfix")
    data = (b"From: <v@local.x.test>\nTo: s@r.test\nAuto-Submitted: auto-replied (vacation)\n"
            b"Subject: Auto: hello\n\nI am away.\n")
    assert _order(data, {"v@local.x.test": label}) == [("v@local.x.test", label)]
    assert _order(data, {"w@local.x.test": label}) == []


def test_postmaster_copy_is_filed_under_the_scenario_its_returned_header_names() -> None:
    """A copy sent to the notice recipient (Postfix sends it from double-bounce@, not <>) is
    filed by the original's Message-ID; other mail with a sender is not a bounce."""
    s = sc.BY_NAME["rcpt-unknown"]
    copy = Received(
        "double-bounce@mx.test", (sc.NOTICE_RECIPIENT,),
        f"Subject: Postmaster Copy: Undelivered Mail\n\nMessage-ID: "
        f"{sc.message_id('postfix_notice', s, '123')}\n".encode(), 0.0)
    stray = Received("someone@x.test", (sc.sender("postfix", s),), b"Subject: hi\n\n", 0.0)
    bounce = Received("", (sc.sender("postfix", s),), b"Subject: bounce\n\n", 0.0)
    got = _bounces([copy, stray, bounce])
    assert got == {("postfix_notice", s.name): [copy], ("postfix", s.name): [bounce]}


def test_resolver_answers_the_dmarc_policy_txt_record() -> None:
    """A TXT query for the senders' _dmarc name gets one answer with the policy text; a TXT
    query for any other name is NXDOMAIN."""
    proto = _NxDomain()
    transport = _Transport()
    proto.connection_made(transport)  # type: ignore[arg-type]
    name = f"_dmarc.{sc.RETURN_DOMAIN}"
    query = _query(name).replace(b"\x00\x0f\x00\x01", b"\x00\x10\x00\x01")  # QTYPE TXT
    proto.datagram_received(query, ("127.0.0.1", 5353))
    proto.datagram_received(_query("x.lab.test").replace(b"\x00\x0f\x00\x01", b"\x00\x10\x00\x01"),
                            ("127.0.0.1", 5353))
    found, missing = transport.sent
    qid, flags, qd, an = struct.unpack("!HHHH", found[:8])
    assert (qid, flags & 0x800F, qd, an) == (0x1234, 0x8000, 1, 1)
    rdata = found[len(query) + 12 :]
    assert rdata[1:].decode() == sc.TXT_RECORDS[name] and rdata[0] == len(rdata) - 1
    assert struct.unpack("!H", missing[2:4])[0] & 0x000F == 3


def test_scenario_for_one_instance_runs_there_alone() -> None:
    """The DMARC report scenario runs only on the OpenDMARC instance, which runs nothing else;
    its label is feedback of type auth-failure, without a status."""
    s = sc.BY_NAME["dmarc-failure"]
    assert s.applies_to("postfix_dmarc") and not s.applies_to("postfix")
    assert not sc.BY_NAME["rcpt-unknown"].applies_to("postfix_dmarc")
    label = s.label("postfix_dmarc")
    assert (label.reason, label.feedback_type, label.status, label.hard) == (
        "feedback", "auth-failure", "", False)


def test_failure_report_recipient_is_the_reported_messages() -> None:
    """A feedback report without Original-Rcpt-To reports the recipient of the message whose
    header it returns."""
    label = sc.BY_NAME["dmarc-failure"].label("postfix_dmarc")
    data = (
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="B"\n\n'
        b"--B\nContent-Type: text/plain\n\nAn authentication failure report.\n"
        b"--B\nContent-Type: message/feedback-report\n\nFeedback-Type: auth-failure\n"
        b"--B\nContent-Type: text/rfc822-headers\n\nFrom: s@r.test\nTo: t@rcpt.x.test\n\n--B--\n"
    )
    assert _order(data, {"t@rcpt.x.test": label}) == [("t@rcpt.x.test", label)]


def test_score_counts_a_feedback_reason_right_only_with_its_feedback_type() -> None:
    """A feedback event of another feedback type than the label's is a reason mismatch."""
    want = {"r": [{"index": 1, "recipient": "t@x.test", "reason": "feedback", "status": "",
                   "hardbounce": False, "feedback_type": "auth-failure"}]}
    event = {"recipient": "t@x.test", "reason": "feedback"}
    right = {"r": [{**event, "feedback_type": "auth-failure"}]}
    wrong = {"r": [{**event, "feedback_type": "abuse"}]}
    assert score(want, right).reason_ok == 1
    assert score(want, wrong).reason_ok == 0


def test_mta_that_keeps_retrying_gets_no_temporary_failure() -> None:
    """dma retries for days and relays through its smarthost only: no temporary scenario (nor a
    message with a temporary member), no connection-level or DNS scenario; permanent ones run."""
    applies = {s.name for s in sc.SCENARIOS if s.applies_to("dma")}
    assert {"rcpt-unknown", "eod-spam", "multi-permanent"} <= applies
    assert not {"rcpt-greylist", "multi-fates", "conn-refused", "banner-blocked",
                "dns-nxdomain"} & applies


def test_resolver_answers_mx_and_a_for_routed_domains_only() -> None:
    """A routed domain has an MX record naming itself and an A record with its loopback
    address (no AAAA: an empty answer); an unrouted one does not exist."""
    proto = _NxDomain()
    transport = _Transport()
    proto.connection_made(transport)  # type: ignore[arg-type]

    def ask(name: str, qtype: int) -> bytes:
        query = _query(name)[:-4] + struct.pack("!HH", qtype, 1)
        proto.datagram_received(query, ("127.0.0.1", 5353))
        return transport.sent[-1][len(query):]

    mx_to_itself = struct.pack("!HHHIH", 0xC00C, 15, 1, 60, 4) + b"\x00\x0a\xc0\x0c"
    assert ask(sc.MAIN_DOMAIN, 15) == mx_to_itself
    assert ask(sc.MAIN_DOMAIN, 1)[-4:] == bytes(int(x) for x in sc.MAIN_HOST.split("."))
    assert ask(sc.MAIN_DOMAIN, 28) == b""
    assert struct.unpack("!H", transport.sent[-1][2:4])[0] & 0x000F == 0
    ask(sc.NX_DOMAIN, 1)
    assert struct.unpack("!H", transport.sent[-1][2:4])[0] & 0x000F == 3


def test_chasquid_queue_item_is_backdated_in_its_creation_time_only() -> None:
    """The lab moves a chasquid queue item's creation time back (chasquid then gives it up);
    no other number of the file changes."""
    item = ('ID: "x1"\nfrom: "a@b"\nrcpt: {\n  address: "c@d"\n'
            '  last_failure_message: "451 4.7.1 seconds: 99"\n}\n'
            "created_at_ts: {\n  seconds: 1796241194\n  nanos: 364806015\n}\n")
    out = backdated(item, 3600)
    assert "seconds: 1796237594\n" in out
    assert out.replace("1796237594", "1796241194") == item


def test_chasquid_gives_up_on_temporary_failures_saying_so() -> None:
    """chasquid's bounce for a temporary failure says it timed out: expired, the remote's
    quoted code; a permanent cause it retried stays (a 5xx greeting is blocked)."""
    greylist = sc.BY_NAME["rcpt-greylist"].label("chasquid")
    assert (greylist.reason, greylist.status, greylist.replycode) == ("expired", "4.7.1", "451")
    banner = sc.BY_NAME["banner-blocked"].label("chasquid")
    assert (banner.reason, banner.status, banner.hard) == ("blocked", "5.7.1", False)
    assert not sc.BY_NAME["conn-timeout"].applies_to("chasquid")


def test_score_reads_sisimai_verdicts_in_the_parse_output_shape() -> None:
    """The Sisimai comparison's lines are read as bounce-stream's: file name -> events."""
    line = '{"file": "/x/chasquid-rcpt-unknown.eml", "events": [{"reason": "undefined"}]}'
    assert _events(line + "\n\n") == {"chasquid-rcpt-unknown": [{"reason": "undefined"}]}


def test_multi_recipient_override_applies_to_members_refused_at_once() -> None:
    """Haraka's split-off bounce (no replies) labels the members refused at once undefined,
    while a greylisted member, returned later with its reply, stays expired."""
    s = sc.BY_NAME["multi-fates"]
    labels = list(sc.expected(s, "haraka").values())
    assert [(lab.reason, lab.hard) for lab in labels] == [
        ("undefined", False), ("undefined", False), ("expired", False), ("undefined", False)]
    assert [lab.reason for lab in sc.expected(s, "postfix").values()] == [
        "userunknown", "mailboxfull", "expired", "norelaying"]
