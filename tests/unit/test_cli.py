"""The command line: offline ``parse``, configuration errors of ``run``, version, schemas."""

from __future__ import annotations

import gc
import json
import mailbox
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from bounce_stream import __version__
from bounce_stream.cli import main

SECRET = "Cli-Zq7-UNIQUE-imap-pw"

DSN = b"""\
From: Mail Delivery System <MAILER-DAEMON@mx.sender.test>
To: bounces@sender.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mx.sender.test>
Date: Wed, 25 Nov 2026 20:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain

Your message could not be delivered to one or more recipients.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.sender.test

Final-Recipient: rfc822; Alice@Example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

Final-Recipient: rfc822; bob@example.net
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 mailbox full

--BOUNDARY
Content-Type: text/rfc822-headers

From: news@sender.test
To: alice@example.org
Message-ID: <orig-1@sender.test>
Subject: Hello

--BOUNDARY--
"""

PLAIN = b"""\
From: friend@example.org
To: bounces@sender.test
Subject: Lunch?
Message-ID: <plain-1@example.org>

Are you free on Friday?
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No BOUNCE_STREAM* variable of the caller's shell leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("BOUNCE_STREAM"):
            monkeypatch.delenv(name)


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _dsn_with_id(n: int) -> bytes:
    return DSN.replace(b"<dsn-1@mx.sender.test>", f"<dsn-{n}@mx.sender.test>".encode())


# --- parse ----------------------------------------------------------------------------------


def test_parse_eml(tmp_path: Path) -> None:
    """An .eml DSN gives one JSON line with its path and one event per recipient, in order."""
    eml = tmp_path / "bounce.eml"
    eml.write_bytes(DSN)
    result = _invoke("parse", str(eml))
    assert result.exit_code == 0
    (line,) = _lines(result)
    assert line["file"] == str(eml)
    assert "error" not in line
    events = line["events"]
    assert [e["recipient"] for e in events] == ["alice@example.org", "bob@example.net"]
    assert [e["status"] for e in events] == ["5.1.1", "5.2.2"]
    assert events[0]["action"] == "failed"
    assert events[0]["bounce_type"] == "hard"
    assert events[0]["original_message_id"] == "<orig-1@sender.test>"


def test_parse_output_has_no_source_fields(tmp_path: Path) -> None:
    """Offline events lack mailbox/uid/uidvalidity/detected_at but carry schema field names."""
    eml = tmp_path / "bounce.eml"
    eml.write_bytes(DSN)
    (line,) = _lines(_invoke("parse", str(eml)))
    event = line["events"][0]
    assert not {"mailbox", "uid", "uidvalidity", "detected_at"} & event.keys()
    assert {"event_id", "recipient", "reason", "hard_bounce", "detected_by"} <= event.keys()


def test_parse_is_deterministic(tmp_path: Path) -> None:
    """Parsing the same file twice prints identical lines (same event ids)."""
    eml = tmp_path / "bounce.eml"
    eml.write_bytes(DSN)
    assert _invoke("parse", str(eml)).stdout == _invoke("parse", str(eml)).stdout


def test_parse_non_bounce_has_no_events(tmp_path: Path) -> None:
    """A regular message gives a line with an empty event list and no error."""
    eml = tmp_path / "plain.eml"
    eml.write_bytes(PLAIN)
    (line,) = _lines(_invoke("parse", str(eml)))
    assert line == {"file": str(eml), "events": []}


def test_parse_not_a_message_reports_error(tmp_path: Path) -> None:
    """Bytes that are no Internet message give events [] and an error, exit 0."""
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02" * 100)
    result = _invoke("parse", str(junk))
    assert result.exit_code == 0
    (line,) = _lines(result)
    assert line["events"] == []
    assert line["error"]


def test_parse_maildir(tmp_path: Path) -> None:
    """A Maildir folder (cur/new/tmp) gives one line per message, labelled folder#key."""
    md_path = tmp_path / "Maildir"
    md = mailbox.Maildir(md_path, create=True)
    md.add(_dsn_with_id(1))
    md.add(PLAIN)
    md.add(_dsn_with_id(2))
    md.close()
    assert all((md_path / sub).is_dir() for sub in ("cur", "new", "tmp"))
    result = _invoke("parse", str(md_path))
    assert result.exit_code == 0
    lines = _lines(result)
    assert len(lines) == 3
    assert all(line["file"].startswith(f"{md_path}#") for line in lines)
    assert len({line["file"] for line in lines}) == 3
    assert sorted(len(line["events"]) for line in lines) == [0, 2, 2]
    ids = {e["bounce_message_id"] for line in lines for e in line["events"]}
    assert ids == {"<dsn-1@mx.sender.test>", "<dsn-2@mx.sender.test>"}


def test_parse_mbox(tmp_path: Path) -> None:
    """An mbox file gives one line per message, labelled file#1, file#2, ... in file order."""
    mbox_path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(mbox_path, create=True)
    box.add(_dsn_with_id(1))
    box.add(PLAIN)
    box.flush()
    box.close()
    assert mbox_path.read_bytes().startswith(b"From ")
    result = _invoke("parse", str(mbox_path))
    assert result.exit_code == 0
    lines = _lines(result)
    assert [line["file"] for line in lines] == [f"{mbox_path}#1", f"{mbox_path}#2"]
    assert [e["recipient"] for e in lines[0]["events"]] == [
        "alice@example.org",
        "bob@example.net",
    ]
    assert lines[1]["events"] == []


def test_parse_eml_saved_with_from_lines_is_one_unit(tmp_path: Path) -> None:
    """An .eml holding messages saved with mbox "From " lines is one line with all events."""
    eml = tmp_path / "saved.eml"
    box = mailbox.mbox(eml, create=True)
    box.add(_dsn_with_id(1))
    box.add(_dsn_with_id(2))
    box.close()
    single = _lines(_invoke("parse", str(eml)))
    assert [line["file"] for line in single] == [str(eml)]
    one = _lines(_invoke("parse", str(_write(tmp_path / "one.eml", _dsn_with_id(1)))))[0]
    assert len(single[0]["events"]) == 2 * len(one["events"]) > 0


def test_parse_eml_with_from_line_and_bare_cr_endings(tmp_path: Path) -> None:
    """A bare-CR .eml starting with an mbox "From " line is classified, not reported unreadable."""
    eml = tmp_path / "mac.eml"
    eml.write_bytes(b"From MAILER-DAEMON Wed Nov 25 20:00:00 2026\r" + DSN.replace(b"\n", b"\r"))
    (line,) = _lines(_invoke("parse", str(eml)))
    assert "error" not in line
    assert [e["recipient"] for e in line["events"]] == [
        e["recipient"]
        for e in _lines(_invoke("parse", str(_write(tmp_path / "lf.eml", DSN))))[0]["events"]
    ]


def test_parse_mbox_closes_the_file(tmp_path: Path) -> None:
    """Parsing an mbox closes the file it opened (no ResourceWarning for a leaked handle)."""
    mbox_path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(mbox_path, create=True)
    box.add(DSN)
    box.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        result = _invoke("parse", str(mbox_path))
        gc.collect()
    assert result.exit_code == 0
    leaked = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert [str(w.message) for w in leaked] == []


def test_parse_plain_folder_recurses(tmp_path: Path) -> None:
    """A folder that is not a Maildir is walked: each file in it, sorted, hidden ones skipped."""
    folder = tmp_path / "samples"
    folder.mkdir()
    (folder / "b.eml").write_bytes(PLAIN)
    (folder / "a.eml").write_bytes(DSN)
    (folder / ".hidden.eml").write_bytes(DSN)
    lines = _lines(_invoke("parse", str(folder)))
    assert [line["file"] for line in lines] == [str(folder / "a.eml"), str(folder / "b.eml")]


def test_parse_missing_path_does_not_abort_but_exits_1(tmp_path: Path) -> None:
    """A missing path gives events [] and an error, the other files are processed, exit 1."""
    missing = tmp_path / "missing.eml"
    eml = tmp_path / "bounce.eml"
    eml.write_bytes(DSN)
    result = _invoke("parse", str(missing), str(eml))
    assert result.exit_code == 1
    assert "1 input(s) could not be read" in result.stderr
    first, second = _lines(result)
    assert first["file"] == str(missing)
    assert first["events"] == []
    assert "error" in first
    assert first["error"]
    assert second["file"] == str(eml)
    assert len(second["events"]) == 2


def test_parse_readable_inputs_exit_0_even_when_not_messages(tmp_path: Path) -> None:
    """Only unreadable inputs fail the run: a readable non-message still exits 0."""
    junk = _write(tmp_path / "junk.bin", b"\x00" * 50)
    eml = _write(tmp_path / "bounce.eml", DSN)
    result = _invoke("parse", str(junk), str(eml))
    assert result.exit_code == 0
    assert result.stderr == ""


def test_parse_dash_reads_one_message_from_stdin(tmp_path: Path) -> None:
    """`parse -` classifies standard input as one message labelled "-", between files."""
    eml = _write(tmp_path / "plain.eml", PLAIN)
    result = CliRunner().invoke(main, ["parse", str(eml), "-"], input=DSN)
    assert result.exit_code == 0
    first, second = _lines(result)
    assert first == {"file": str(eml), "events": []}
    assert second["file"] == "-"
    assert [e["recipient"] for e in second["events"]] == ["alice@example.org", "bob@example.net"]


def test_parse_command_imports_neither_pydantic_nor_kafka(tmp_path: Path) -> None:
    """`parse` starts without importing pydantic, asyncio, aiokafka or the registry client."""
    eml = _write(tmp_path / "bounce.eml", DSN)
    code = (
        "import sys\n"
        "from bounce_stream.cli import main\n"
        "try:\n"
        f"    main(['parse', {str(eml)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ['pydantic', 'asyncio', 'aiokafka', 'bounce_stream.encoding.registry',\n"
        "         'bounce_stream.settings', 'yaml']\n"
        "print([m for m in heavy if m in sys.modules], file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stderr.strip() == "[]"
    assert json.loads(proc.stdout)["events"]


def test_parse_every_line_is_json_with_file_and_events(tmp_path: Path) -> None:
    """Every stdout line is a JSON object with 'file' and an 'events' list."""
    (tmp_path / "a.eml").write_bytes(DSN)
    (tmp_path / "b.eml").write_bytes(PLAIN)
    result = _invoke("parse", str(tmp_path / "a.eml"), str(tmp_path / "b.eml"), "/nonexistent")
    assert len(result.stdout.splitlines()) == 3
    for line in _lines(result):
        assert isinstance(line["file"], str)
        assert isinstance(line["events"], list)


def test_parse_tracking_header_option(tmp_path: Path) -> None:
    """--tracking-header picks the header whose value becomes tracking_id."""
    raw = DSN.replace(b"Subject: Hello\n", b"Subject: Hello\nX-Campaign-Id: camp-42\n")
    eml = tmp_path / "bounce.eml"
    eml.write_bytes(raw)
    (line,) = _lines(_invoke("parse", "--tracking-header", "X-Campaign-Id", str(eml)))
    assert {e["tracking_id"] for e in line["events"]} == {"camp-42"}


def test_parse_non_utf8_file_name_does_not_abort(tmp_path: Path) -> None:
    """A file whose name is not valid UTF-8 still gets a JSON line, and later files are parsed."""
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/b\xffad.eml"))
    odd.write_bytes(DSN)
    eml = tmp_path / "ok.eml"
    eml.write_bytes(DSN)
    result = CliRunner().invoke(main, ["parse", str(odd), str(eml)])
    assert result.exception is None
    lines = _lines(result)
    assert len(lines) == 2
    assert lines[1]["file"] == str(eml)


def test_parse_unreadable_folder_does_not_abort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder that cannot be listed gives an error line and exit 1; the next path is parsed."""
    locked = tmp_path / "locked"
    locked.mkdir()
    eml = tmp_path / "ok.eml"
    eml.write_bytes(DSN)
    real_iterdir = Path.iterdir

    def iterdir(self: Path) -> Any:
        # chmod 000 does not stop root (these tests may run as root), so refuse like the OS.
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    result = CliRunner().invoke(main, ["parse", str(locked), str(eml)])
    assert result.exit_code == 1
    lines = _lines(result)
    assert lines[0]["file"] == str(locked)
    assert lines[0]["events"] == []
    assert lines[0]["error"]
    assert lines[-1]["file"] == str(eml)
    assert len(lines[-1]["events"]) == 2


def test_parse_prints_arrival_date_in_utc(tmp_path: Path) -> None:
    """parse shows a DSN's Arrival-Date converted to UTC, as the published event carries it."""
    dsn = DSN.replace(
        b"Reporting-MTA: dns; mx.sender.test\n",
        b"Reporting-MTA: dns; mx.sender.test\nArrival-Date: Wed, 25 Nov 2026 21:59:58 +0200\n",
    )
    result = _invoke("parse", str(_write(tmp_path / "b.eml", dsn)))
    (line,) = _lines(result)
    assert {e["arrival_date"] for e in line["events"]} == {"2026-11-25T19:59:58+00:00"}


def test_parse_never_publishes_an_over_long_recipient(tmp_path: Path) -> None:
    """A "recipient" over RFC 5321's 256 octets is no address: no event, never echoed."""
    long_recipient = b"a" * 5000 + b"@example.org"
    dsn = DSN.replace(b"rfc822; bob@example.net", b"rfc822; " + long_recipient)
    result = _invoke("parse", str(_write(tmp_path / "b.eml", dsn)))
    assert result.exit_code == 0
    (line,) = _lines(result)
    assert all(len(event["recipient"]) <= 256 for event in line["events"])
    assert long_recipient.decode() not in result.stdout


def test_parse_needs_a_path() -> None:
    """parse without a path is a usage error (exit 2)."""
    assert CliRunner().invoke(main, ["parse"]).exit_code == 2


# --- run: configuration errors --------------------------------------------------------------


def _config(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _mailbox(**overrides: Any) -> dict[str, Any]:
    mb = {"name": "main", "host": "imap.example.com", "username": "u", "password": SECRET}
    mb.update(overrides)
    return mb


def test_run_invalid_config_exits_2_naming_key(tmp_path: Path) -> None:
    """run with an invalid value exits 2, names the key, prints no traceback or password."""
    config = _config(tmp_path, {"mailboxes": [_mailbox(port="imaps")]})
    result = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "mailboxes.0.port" in result.stderr
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    assert SECRET not in result.output
    assert SECRET not in result.stderr


def test_run_unknown_key_exits_2(tmp_path: Path) -> None:
    """run with an unknown key exits 2 and names the key."""
    config = _config(tmp_path, {"mailboxes": [_mailbox()], "metric": {"port": 1}})
    result = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "metric" in result.stderr
    assert SECRET not in result.output + result.stderr


def test_run_config_from_environment_variable(tmp_path: Path) -> None:
    """BOUNCE_STREAM_CONFIG names the config file when --config is not given."""
    config = _config(tmp_path, {"mailboxes": [_mailbox(housekeeping="explode")]})
    result = CliRunner().invoke(main, ["run"], env={"BOUNCE_STREAM_CONFIG": str(config)})
    assert result.exit_code == 2
    assert "mailboxes.0.housekeeping" in result.stderr


def test_run_missing_config_exits_2(tmp_path: Path) -> None:
    """run --config missing.yaml exits 2 with a message, not a traceback."""
    missing = tmp_path / "missing.yaml"
    result = CliRunner().invoke(main, ["run", "--config", str(missing)])
    assert result.exit_code == 2
    assert "cannot read config file" in result.stderr
    assert str(missing) in result.stderr
    assert "Traceback" not in result.stderr


def test_run_without_mailboxes_exits_2(tmp_path: Path) -> None:
    """A valid config without mailboxes exits 2 before anything is started."""
    config = _config(tmp_path, {"metrics": {"enabled": False}})
    result = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "no mailboxes configured" in result.stderr


def test_run_bad_replica_slot_exits_2(tmp_path: Path) -> None:
    """An index >= count in the replica variables exits 2 before anything is started."""
    config = _config(tmp_path, {"mailboxes": [_mailbox()]})
    result = CliRunner().invoke(
        main,
        ["run", "--config", str(config)],
        env={"BOUNCE_STREAM_REPLICA_INDEX": "3", "BOUNCE_STREAM_REPLICA_COUNT": "2"},
    )
    assert result.exit_code == 2
    assert "BOUNCE_STREAM_REPLICA_INDEX" in result.stderr


# --- version and schemas --------------------------------------------------------------------


def test_version() -> None:
    """--version prints the program name and the package version."""
    result = _invoke("--version")
    assert result.exit_code == 0
    assert "bounce-stream" in result.stdout
    assert __version__ in result.stdout


def test_schema_print_all() -> None:
    """schema print outputs a JSON array describing the five Avro schemas (run's, suppress's)."""
    result = _invoke("schema", "print")
    assert result.exit_code == 0
    described = json.loads(result.stdout)
    assert isinstance(described, list)
    assert len(described) == 5
    for item in described:
        assert item["schema"]["type"] == "record"
        assert len(item["fingerprint_crc64_avro"]) == 16
    assert [item["full_name"] for item in described] == [
        "io.bouncestream.BounceEvent",
        "io.bouncestream.MailboxCheckpoint",
        "io.bouncestream.DeadLetter",
        "io.bouncestream.RecipientState",
        "io.bouncestream.SuppressionChanged",
    ]
    event_fields = {f["name"] for f in described[0]["schema"]["fields"]}
    assert {"event_id", "recipient", "status", "reason", "uidvalidity"} <= event_fields


def test_schema_print_one() -> None:
    """schema print NAME outputs a single JSON object for that schema."""
    result = _invoke("schema", "print", "dead_letter")
    assert result.exit_code == 0
    described = json.loads(result.stdout)
    assert described["full_name"] == "io.bouncestream.DeadLetter"


# --- run: signals ---------------------------------------------------------------------------


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_stops_on_sigterm_after_its_log_pipe_closed(tmp_path: Path) -> None:
    """`run 2>&1 | head -1`, then SIGTERM: the process still stops (a log write cannot block it)."""
    config = _config(
        tmp_path,
        {
            "kafka": {
                "bootstrap_servers": f"127.0.0.1:{_closed_port()}",
                "retry_initial_seconds": 0.1,
                "retry_max_seconds": 0.2,
                "request_timeout_ms": 1000,
            },
            "mailboxes": [_mailbox(host="127.0.0.1", port=_closed_port(), tls=False)],
            "metrics": {"port": 0},
            "logging": {"format": "json"},
            "shutdown_grace_seconds": 2,
        },
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bounce_stream", "run", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # what `head -1` reads before it exits
        assert first.startswith(b"{"), first
        proc.stdout.close()
        time.sleep(2)  # the Kafka retries log (and hit the closed pipe) meanwhile
        assert proc.poll() is None, "the service died of the closed pipe before SIGTERM"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


def test_consume_against_a_silent_listener_reports_it_unresponsive(tmp_path: Path) -> None:
    """A port that accepts connections but never answers is reported as unresponsive."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # connections complete in the backlog; nothing ever answers
        port = silent.getsockname()[1]
        config = _config(
            tmp_path,
            {"kafka": {"bootstrap_servers": f"127.0.0.1:{port}", "request_timeout_ms": 1000}},
        )
        result = CliRunner().invoke(main, ["consume", "--config", str(config)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"bounce-stream: Kafka: Kafka admin: unresponsive: 127.0.0.1:{port} accepts "
        "connections but did not answer within 1 s"
    ]


def test_consume_with_bootstrap_server_needs_no_imap_secret(tmp_path: Path) -> None:
    """`consume -b` ignores a config whose mailbox has no password and goes straight to Kafka."""
    config = _config(tmp_path, {"mailboxes": [{"name": "m", "host": "h", "username": "u"}]})
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        kafka_config = tmp_path / "kafka.yaml"
        kafka_config.write_text(yaml.safe_dump({"kafka": {"request_timeout_ms": 1000}}))
        result = CliRunner(env={"BOUNCE_STREAM_CONFIG": str(config)}).invoke(
            main,
            ["consume", "-b", f"127.0.0.1:{port}", "--kafka-config", str(kafka_config)],
        )
    assert result.exit_code == 1
    assert f"127.0.0.1:{port} accepts connections but did not answer within 1 s" in result.stderr
    assert "password" not in result.stderr


def test_consume_kafka_config_reads_only_kafka_sections(tmp_path: Path) -> None:
    """--kafka-config takes the service's own file, mailboxes and all, without their secrets."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        config = _config(
            tmp_path,
            {
                "kafka": {"bootstrap_servers": f"127.0.0.1:{port}", "request_timeout_ms": 1000},
                "mailboxes": [{"name": "m", "host": "h", "username": "u"}],
            },
        )
        result = CliRunner().invoke(main, ["consume", "--kafka-config", str(config)])
    assert result.exit_code == 1
    assert f"127.0.0.1:{port} accepts connections" in result.stderr


def test_consume_kafka_config_errors_exit_2_without_the_secret(tmp_path: Path) -> None:
    """A bad Kafka-only config exits 2 naming the key, never echoing the password given."""
    kafka_config = tmp_path / "kafka.yaml"
    kafka_config.write_text(
        yaml.safe_dump({"kafka": {"sasl_password": SECRET, "request_timeout_ms": "soon"}})
    )
    result = CliRunner().invoke(main, ["consume", "--kafka-config", str(kafka_config)])
    assert result.exit_code == 2
    assert "kafka.request_timeout_ms" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_config_check_invalid_config_exits_2_without_the_secret(tmp_path: Path) -> None:
    """`config check` on an invalid config exits 2 naming the key and printing no secret."""
    config = _config(tmp_path, {"mailboxes": [_mailbox(port="imap")]})
    result = _invoke("config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert "mailboxes.0.port" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_consume_save_raw_is_refused_for_topics_other_than_dead_letters(tmp_path: Path) -> None:
    """--save-raw only makes sense for dead letters: elsewhere it is a usage error (exit 2),
    refused before any connection and without creating the directory."""
    target = tmp_path / "raw"
    result = _invoke("consume", "-b", "127.0.0.1:1", "--topic", "events", "--save-raw", str(target))
    assert result.exit_code == 2
    assert "only with --topic dead-letter" in result.stderr
    assert not target.exists()
