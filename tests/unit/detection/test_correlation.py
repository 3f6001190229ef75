"""Correlation: the tracking header, the original Message-ID and the configured extracted
headers are found in every form bounces return the original in.

The samples follow the formats as MTAs write them: RFC 3464/6522 multipart/report with the
returned header as ``text/rfc822-headers`` (RFC 6522 3) or ``message/rfc822-headers`` (the
non-standard spelling several MTAs and ESPs use), Postfix's report with the whole message as
``message/rfc822``, Gmail's legacy text bounce ("----- Original message -----"), a bounce quoting
the original with "> ", an Exchange / Office 365 NDR whose original header is only in the HTML
("Original message headers:" then a ``<pre>`` block, entities escaped), and a DSN whose sender
copied the X- header onto the bounce itself.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bounce_stream.classifying import ClassifyPool
from bounce_stream.cli import main
from bounce_stream.detection import Bounce, ParseOptions, ParseResult, parse
from bounce_stream.detection.model import MAX_EXTRACT_HEADERS, MAX_EXTRACTED_VALUE_CHARS
from bounce_stream.events import event_record
from bounce_stream.settings import ConfigError, load_settings

TRACKING = "mail-7f3a91"
ORIGINAL_ID = "<20260301101500.4F2A1C0@mailer.sender.test>"
EXTRACT = ParseOptions(extract_headers=("X-Campaign-ID", "Feedback-ID", "List-Id"))

# The header block every sample returns (as the original was sent).
ORIGINAL_HEADER = f"""\
Received: from mailer.sender.test (mailer.sender.test [192.0.2.10])
\tby mx.sender.test (Postfix) with ESMTP id 4F2A1C0
\tfor <alice@example.net>; Sun,  1 Mar 2026 10:15:00 +0000 (UTC)
From: Sender News <news@sender.test>
To: alice@example.net
Subject: March offers
Date: Sun, 1 Mar 2026 10:15:00 +0000
Message-ID: {ORIGINAL_ID}
X-Genro-Mail-ID: {TRACKING}
X-Campaign-ID: spring+26
Feedback-ID: 26:march:news:sender-esp
List-Id: Sender News <news.sender.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
"""

DELIVERY_STATUS = """\
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.sender.test
Arrival-Date: Sun,  1 Mar 2026 10:15:00 +0000 (UTC)

Final-Recipient: rfc822; alice@example.net
Original-Recipient: rfc822;alice@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>: Recipient address rejected:
    User unknown in virtual mailbox table
"""


def _report(returned_type: str, returned: str) -> bytes:
    """A Postfix-style RFC 3464 multipart/report returning ``returned`` as ``returned_type``."""
    return f"""\
Return-Path: <>
From: MAILER-DAEMON@mx.sender.test (Mail Delivery System)
To: news@sender.test
Subject: Undelivered Mail Returned to Sender
Date: Sun,  1 Mar 2026 10:15:02 +0000 (UTC)
Message-Id: <20260301101502.9C1B2D4@mx.sender.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="9C1B2D4.1772360102/mx.sender.test"

This is a MIME-encapsulated message.

--9C1B2D4.1772360102/mx.sender.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.sender.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<alice@example.net>: host mx.example.net[198.51.100.7] said: 550 5.1.1
    <alice@example.net>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--9C1B2D4.1772360102/mx.sender.test
Content-Description: Delivery report
{DELIVERY_STATUS}
--9C1B2D4.1772360102/mx.sender.test
Content-Description: Undelivered Message
Content-Type: {returned_type}

{returned}
--9C1B2D4.1772360102/mx.sender.test--
""".encode()


def _only(raw: bytes, options: ParseOptions = EXTRACT) -> Bounce:
    result = parse(raw, options)
    assert result.error is None
    (bounce,) = result.bounces
    assert bounce.recipient == "alice@example.net"
    return bounce


def _assert_correlated(bounce: Bounce) -> None:
    assert bounce.tracking_id == TRACKING
    assert bounce.original_message_id == ORIGINAL_ID
    assert dict(bounce.extracted_headers) == {
        "X-Campaign-ID": "spring+26",
        "Feedback-ID": "26:march:news:sender-esp",
        "List-Id": "Sender News <news.sender.test>",
    }


def test_message_rfc822_headers_part_is_read() -> None:
    """A returned header sent as message/rfc822-headers (not RFC 6522's text/) correlates."""
    _assert_correlated(_only(_report("message/rfc822-headers", ORIGINAL_HEADER)))


def test_text_rfc822_headers_part_is_read() -> None:
    """RFC 6522's text/rfc822-headers returned header correlates."""
    _assert_correlated(_only(_report("text/rfc822-headers", ORIGINAL_HEADER)))


def test_message_rfc822_part_is_read() -> None:
    """Postfix returning the whole message as message/rfc822 correlates."""
    whole = ORIGINAL_HEADER + "\nHello Alice, our March offers are here.\n"
    _assert_correlated(_only(_report("message/rfc822", whole)))


def test_gmail_legacy_text_bounce_quoting_the_original_correlates() -> None:
    """Gmail's text bounce with "----- Original message -----" and the header after it."""
    raw = f"""\
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: news@sender.test
Subject: Delivery Status Notification (Failure)
Message-ID: <000000000000a1b2c3d4e5f60718@google.com>
Date: Sun, 01 Mar 2026 02:15:03 -0800

Delivery to the following recipient failed permanently:

     alice@example.net

Technical details of permanent failure:
Google tried to deliver your message, but it was rejected by the server for the recipient \
domain example.net by mx.example.net. [198.51.100.7].

The error that the other server returned was:
550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown

----- Original message -----

{ORIGINAL_HEADER}
Hello Alice, our March offers are here.
""".encode()
    _assert_correlated(_only(raw))


def test_header_lines_quoted_with_greater_than_signs_correlate() -> None:
    """A text bounce quoting the original "> "-style, a folded Message-ID included."""
    quoted = ORIGINAL_HEADER.replace(
        f"Message-ID: {ORIGINAL_ID}\n", f"Message-ID:\n\t{ORIGINAL_ID}\n"
    )
    quoted = "".join("> " + line + "\n" for line in quoted.splitlines())
    raw = f"""\
From: Mail Delivery Subsystem <mailer-daemon@mx.sender.test>
To: news@sender.test
Subject: Returned mail: see transcript for details
Message-ID: <bounce-77@mx.sender.test>

The original message was received at Sun, 1 Mar 2026 10:15:00 +0000
from mailer.sender.test [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<alice@example.net>
    (reason: 550 5.1.1 User unknown)

   ----- Transcript of session follows -----
... while talking to mx.example.net.:
>>> RCPT To:<alice@example.net>
<<< 550 5.1.1 <alice@example.net>... User unknown
550 5.1.1 <alice@example.net>... User unknown

{quoted}>
> Hello Alice, our March offers are here.
""".encode()
    _assert_correlated(_only(raw))


def test_exchange_html_ndr_original_headers_correlate() -> None:
    """An Office 365 NDR whose only copy of the original header is the HTML <pre> block."""
    escaped = (
        ORIGINAL_HEADER.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    ).replace("+", "&#43;")  # as Exchange writes it
    raw = f"""\
From: Microsoft Outlook <postmaster@outlook.example.com>
To: news@sender.test
Subject: Undeliverable: March offers
Date: Sun, 1 Mar 2026 10:15:04 +0000
Message-ID: <9e1f4c2a-55d1-4b0e-a0b4-1f2e3d4c5b6a@outlook.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_9e1f4c2a55d14b0ea0b41f2e3d4c5b6a_"

--_000_9e1f4c2a55d14b0ea0b41f2e3d4c5b6a_
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><head></head><body>
<p><b><font color=3D"#000066" size=3D"3" face=3D"Arial">Delivery has failed=
 to these recipients or groups:</font></b></p>
<font color=3D"#000000" size=3D"2" face=3D"Tahoma"><p><a href=3D"mailto:alice=
@example.net">alice@example.net</a><br>
The email address you entered couldn't be found.</font></p>
<p><font color=3D"#808080" size=3D"2" face=3D"Tahoma">Diagnostic informatio=
n for administrators:</font></p>
<p>Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'<br>
</p>
<p>Original message headers:</p>
<pre>{escaped}</pre>
</body></html>

--_000_9e1f4c2a55d14b0ea0b41f2e3d4c5b6a_
{DELIVERY_STATUS}
--_000_9e1f4c2a55d14b0ea0b41f2e3d4c5b6a_--
""".encode()
    _assert_correlated(_only(raw))


def _headers_only_dsn(extra_header: str) -> bytes:
    """A DSN that returned nothing of the original (RET=HDRS lost on the way)."""
    return f"""\
From: MAILER-DAEMON@mx.sender.test (Mail Delivery System)
To: news@sender.test
Subject: Undelivered Mail Returned to Sender
Message-Id: <20260301101502.9C1B2D4@mx.sender.test>
{extra_header}MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
{DELIVERY_STATUS}
--b1--
""".encode()


def test_tracking_header_copied_onto_the_bounce_correlates() -> None:
    """An X- header an ESP copied onto the bounce itself is the last resort, and In-Reply-To
    stands for the original's Message-ID (the bounce's own Message-ID never does)."""
    raw = _headers_only_dsn(
        f"X-Genro-Mail-ID: {TRACKING}\nX-Campaign-ID: spring+26\n"
        f"In-Reply-To: {ORIGINAL_ID}\nFeedback-ID: 1:bounce:esp\n"
    )
    bounce = _only(raw)
    assert bounce.tracking_id == TRACKING
    assert bounce.original_message_id == ORIGINAL_ID
    # Feedback-ID and List-Id on a bounce describe the bounce: not read from there.
    assert dict(bounce.extracted_headers) == {"X-Campaign-ID": "spring+26"}


def test_nothing_is_invented_when_no_form_carries_the_ids() -> None:
    """Without any returned header or copied field, every correlation field stays empty."""
    bounce = _only(_headers_only_dsn("In-Reply-To: <a@x.test> <b@x.test>\n"))
    assert bounce.tracking_id is None
    assert bounce.original_message_id is None  # two ids: not a reply to one message
    assert bounce.extracted_headers == ()


def test_returned_header_wins_over_the_bounces_own_copy() -> None:
    """The original's own value beats a value the bounce carries in its header."""
    raw = _report("text/rfc822-headers", ORIGINAL_HEADER).replace(
        b"Auto-Submitted: auto-replied\n",
        b"Auto-Submitted: auto-replied\nX-Genro-Mail-ID: from-the-bounce\n",
    )
    assert _only(raw).tracking_id == TRACKING


def test_quoted_line_fills_what_the_returned_header_block_lacks() -> None:
    """A field missing from the returned header part is still found quoted in the text."""
    without = ORIGINAL_HEADER.replace(f"X-Genro-Mail-ID: {TRACKING}\n", "")
    raw = _report("text/rfc822-headers", without).replace(
        b"It's attached below.\n", f"It's attached below.\n\nX-Genro-Mail-ID: {TRACKING}\n".encode()
    )
    assert _only(raw).tracking_id == TRACKING


def test_field_names_are_matched_without_regard_to_case() -> None:
    """Header names are case-insensitive (RFC 5322); the configured spelling is published."""
    raw = _report("text/rfc822-headers", ORIGINAL_HEADER.replace("X-Campaign-ID", "x-campaign-id"))
    bounce = _only(raw, ParseOptions(extract_headers=("X-CAMPAIGN-ID",)))
    assert bounce.extracted_headers == (("X-CAMPAIGN-ID", "spring+26"),)


def test_extracted_values_are_unfolded_decoded_and_capped() -> None:
    """A folded value is unfolded, UTF-8 is read as text, and values stop at 998 characters."""
    header = (
        ORIGINAL_HEADER
        + "X-Campaign-ID: spring+26\n  part-two\n"
        + "X-Segment: caf\u00e9\n"
        + "X-Long: "
        + "v" * 3000
        + "\n"
    )
    header = header.replace("X-Campaign-ID: spring+26\n", "", 1)
    raw = _report("text/rfc822-headers", header)
    bounce = _only(raw, ParseOptions(extract_headers=("X-Campaign-ID", "X-Segment", "X-Long")))
    found = dict(bounce.extracted_headers)
    assert found["X-Campaign-ID"] == "spring+26 part-two"
    assert found["X-Segment"] == "caf\u00e9"
    assert found["X-Long"] == "v" * MAX_EXTRACTED_VALUE_CHARS


def test_extract_headers_option_is_bounded_and_survives_a_json_round_trip() -> None:
    """At most 20 names, no repeats nor non-names, and a JSON list comes back as a tuple."""
    names = [f"X-H{i}" for i in range(30)] + ["x-h0", "bad name", "Bad:Colon", ""]
    options = ParseOptions(extract_headers=tuple(names))
    assert options.extract_headers == tuple(f"X-H{i}" for i in range(MAX_EXTRACT_HEADERS))
    again = ParseOptions(**json.loads(json.dumps(dataclasses.asdict(options))))
    assert again == options
    assert isinstance(again.extract_headers, tuple)
    assert hash(again) == hash(options)
    assert ParseOptions(extract_headers="X-One").extract_headers == ("X-One",)  # type: ignore[arg-type]


def test_event_record_publishes_extracted_headers_as_a_map() -> None:
    """The event carries extracted_headers as a name -> value map, empty when none."""
    raw = _report("message/rfc822-headers", ORIGINAL_HEADER)
    result = parse(raw, EXTRACT)
    record = event_record(result, result.bounces[0], None)
    assert record["extracted_headers"]["X-Campaign-ID"] == "spring+26"
    plain = parse(raw)
    assert event_record(plain, plain.bounces[0], None)["extracted_headers"] == {}


def test_quoted_header_search_stays_fast_on_hostile_text() -> None:
    """Many empty quoted fields, long quote runs and unclosed tags cost bounded time."""
    names = ParseOptions(extract_headers=tuple(f"X-H{i}" for i in range(MAX_EXTRACT_HEADERS)))
    bodies = [
        "\n> X-Genro-Mail-ID:" * 40_000,
        "\n" + ">" * 300_000 + " Message-ID: <x@y>",
        ("\n>> x-h1" + " " * 30) * 8_000,
        "<pre>" + "<p" * 100_000 + "\nX-Genro-Mail-ID: t\n",
    ]
    for body in bodies:
        for ctype in ("text/plain", "text/html"):
            raw = _headers_only_dsn("").replace(
                b"Content-Type: text/plain\n\nYour message could not be delivered.\n",
                f"Content-Type: {ctype}\n\nYour message could not be delivered.\n{body}\n".encode(),
            )
            started = time.perf_counter()
            result = parse(raw, names)
            assert time.perf_counter() - started < 5.0  # generous: linear work is ~50 ms
            assert result.error is None and result.bounces


async def test_worker_processes_apply_the_extract_headers_option() -> None:
    """The option crosses to the classification processes: the pool extracts like parse()."""
    raw = _report("message/rfc822-headers", ORIGINAL_HEADER)
    pool = ClassifyPool(EXTRACT, workers=1, timeout=30)
    await pool.start()
    try:
        outcome = await pool.classify(raw)
    finally:
        await pool.stop()
    assert outcome == parse(raw, EXTRACT)
    assert isinstance(outcome, ParseResult)
    assert dict(outcome.bounces[0].extracted_headers)["List-Id"] == "Sender News <news.sender.test>"


def test_parse_command_prints_extracted_headers(tmp_path: Path) -> None:
    """`bounce-stream parse --extract-header NAME` prints the map; a bad name is refused."""
    eml = tmp_path / "bounce.eml"
    eml.write_bytes(_report("text/rfc822-headers", ORIGINAL_HEADER))
    runner = CliRunner()
    result = runner.invoke(main, ["parse", "--extract-header", "X-Campaign-ID", str(eml)])
    assert result.exit_code == 0, result.output
    (event,) = json.loads(result.stdout)["events"]
    assert event["extracted_headers"] == {"X-Campaign-ID": "spring+26"}
    assert event["tracking_id"] == TRACKING
    refused = runner.invoke(main, ["parse", "--extract-header", "Not A Name", str(eml)])
    assert refused.exit_code == 2 and "--extract-header" in refused.output


def test_correlation_settings_take_a_bounded_list_of_header_names() -> None:
    """correlation.extract_headers: default empty; non-names, repeats and over 20 refused."""
    assert load_settings(None, environ={}).correlation.extract_headers == []
    env = {
        "BOUNCE_STREAM__CORRELATION__EXTRACT_HEADERS__0": "X-Campaign-ID",
        "BOUNCE_STREAM__CORRELATION__EXTRACT_HEADERS__1": "List-Id",
    }
    loaded = load_settings(None, environ=env).correlation.extract_headers
    assert loaded == ["X-Campaign-ID", "List-Id"]
    for bad in (["Bad Name"], ["X-A", "x-a"], [f"X-{i}" for i in range(MAX_EXTRACT_HEADERS + 1)]):
        env = {f"BOUNCE_STREAM__CORRELATION__EXTRACT_HEADERS__{i}": n for i, n in enumerate(bad)}
        with pytest.raises(ConfigError, match=r"correlation\.extract_headers"):
            load_settings(None, environ=env)
