"""The pipeline end to end against real Dovecot and real Kafka: exactly once, whatever happens."""

from __future__ import annotations

import imaplib
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from bounce_stream.events import SOURCE_FIELDS, to_json_ready
from dev.stack import DovecotServer, KafkaNode
from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    checkpoint,
    dead_letters,
    events,
    make_dsn,
    make_not_bounce,
    recipients,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration


def start(setup: Setup, services: list[ServiceProcess], **mailbox: object) -> ServiceProcess:
    svc = ServiceProcess(setup, **mailbox)
    services.append(svc)
    return svc


def assert_exactly_once(setup: Setup, expected: list[str]) -> None:
    got = events(setup)
    keys = [k for k, _, _ in got]
    dupes = {k: n for k, n in Counter(keys).items() if n > 1}
    assert not dupes, f"duplicated events: {dupes}"
    assert sorted(keys) == sorted(r.lower() for r in expected)


def test_n_bounces_give_exactly_n_events(setup: Setup, services: list[ServiceProcess]) -> None:
    """N appended bounces (and a non-bounce) give exactly N decodable events keyed by recipient."""
    rcpts = recipients("n", 30)
    messages = [make_dsn(r, n=i) for i, r in enumerate(rcpts)]
    setup.append([*messages, make_not_bounce()])
    svc = start(setup, services)
    svc.wait_ready()
    cp = wait_for_checkpoint(setup, 31)
    assert cp["uidvalidity"] == setup.dovecot.uidvalidity(setup.user)
    assert_exactly_once(setup, rcpts)
    for key, value, headers in events(setup):
        assert value["recipient"] == key
        assert value["mailbox"] == setup.mailbox_id
        assert value["reason"] == "userunknown" and value["hard_bounce"] is True
        assert value["status"] == "5.1.1"
        assert value["tracking_id"] is not None and value["tracking_id"].startswith("mail-")
        assert "single-object" in headers["content-type"]
    assert svc.metric("bounce_stream_not_bounce_messages_total") == 1
    # `parse` prints exactly what `run` published, minus where and when it was read.
    for i, message in enumerate(messages[:3]):
        (setup.workdir / f"m{i}.eml").write_bytes(message)
    parsed = subprocess.run(
        [sys.executable, "-m", "bounce_stream", "parse"]
        + [str(setup.workdir / f"m{i}.eml") for i in range(3)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    published = {v["recipient"]: v for _, v, _ in events(setup)}
    for line in parsed:
        (event,) = json.loads(line)["events"]
        want = to_json_ready(published[event["recipient"]])
        assert event == {k: v for k, v in want.items() if k not in SOURCE_FIELDS}
    assert svc.metric("bounce_stream_events_published_total") == 30
    status, body = svc.get("/metrics")
    assert status == 200 and setup.password not in body
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=body, capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_restart_resumes_from_checkpoint(setup: Setup, services: list[ServiceProcess]) -> None:
    """A stopped and restarted service resumes after the committed UID, publishing nothing twice."""
    first, second = recipients("r", 12), recipients("r", 8, start=12)
    setup.append([make_dsn(r) for r in first])
    svc = start(setup, services)
    svc.wait_ready()
    wait_for_checkpoint(setup, 12)
    assert svc.stop() == 0
    setup.append([make_dsn(r) for r in second])
    t0 = time.monotonic()
    svc2 = start(setup, services)
    svc2.wait_ready()
    wait_for_checkpoint(setup, 20)
    print(f"restart to caught-up: {time.monotonic() - t0:.2f}s")
    assert_exactly_once(setup, first + second)


def test_sigkill_mid_batch_loses_and_duplicates_nothing(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """kill -9 while batches are in flight, three times, then restart: every event exactly once."""
    rcpts = recipients("k", 1500)
    setup.append([make_dsn(r) for r in rcpts])
    for kill in range(3):
        svc = start(setup, services, batch_max_messages=5)
        svc.wait_ready()
        deadline = time.monotonic() + 30
        while "batch_committed" not in svc.log() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.15 * (kill + 1))  # land somewhere inside a later batch
        svc.kill()
    cp = checkpoint(setup)
    assert cp is not None and 0 < cp["last_uid"] < 1500, f"kills did not land mid-drain: {cp}"
    final = start(setup, services)
    final.wait_ready()
    wait_for_checkpoint(setup, 1500, timeout=120)
    assert_exactly_once(setup, rcpts)


def test_second_instance_is_fenced_and_nothing_duplicates(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """A second instance on the same mailbox fences the first; the first stands by, no ping-pong."""
    setup.overrides["kafka"] = {"fenced_backoff_seconds": 1}  # the settings' minimum
    first = recipients("f", 10)
    setup.append([make_dsn(r) for r in first])
    a = start(setup, services)
    a.wait_ready()
    wait_for_checkpoint(setup, 10)
    b = start(setup, services)
    b.wait_ready()
    second = recipients("f", 10, start=10)
    setup.append([make_dsn(r) for r in second])
    wait_for_checkpoint(setup, 20)
    a.wait_for_metric("bounce_stream_fenced_total", timeout=15)
    assert a.metric("bounce_stream_fenced_total") == 1
    status, body = a.get("/readyz")
    assert status == 503 and "fenced" in body
    time.sleep(3)  # three fenced back-offs: the standby must not take the mailbox back
    assert b.metric("bounce_stream_fenced_total") == 0
    assert b.get("/readyz")[0] == 200
    third = recipients("f", 5, start=20)
    setup.append([make_dsn(r) for r in third])
    wait_for_checkpoint(setup, 25)
    assert_exactly_once(setup, first + second + third)


def test_uidvalidity_change_restarts_from_new_uid_space(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """A recreated mailbox (new UIDVALIDITY) is read from its first UID; event ids stay stable."""
    old = recipients("u", 6)
    setup.append([make_dsn(r, n=i) for i, r in enumerate(old)])
    svc = start(setup, services)
    svc.wait_ready()
    cp = wait_for_checkpoint(setup, 6)
    before = {v["event_id"] for _, v, _ in events(setup)}
    new_validity = setup.dovecot.recreate_folder(setup.user, "INBOX", keep_messages=True)
    assert new_validity != cp["uidvalidity"]
    new = recipients("u", 3, start=6)
    setup.append([make_dsn(r) for r in new])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cp = checkpoint(setup)
        if cp and cp["uidvalidity"] == new_validity and cp["last_uid"] >= 9:
            break
        time.sleep(0.3)
    assert cp is not None and cp["uidvalidity"] == new_validity and cp["last_uid"] == 9
    got = events(setup)
    ids = [v["event_id"] for _, v, _ in got]
    # The six old bounces were re-sent from the new UID space with the same ids.
    assert len(ids) == 6 + 6 + 3
    assert len(set(ids)) == 9 and before <= set(ids)
    assert any(e.get("event") == "uidvalidity_changed" for e in svc.log_events())


def test_poison_and_oversized_messages_are_dead_lettered(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """Unreadable and oversized messages are dead-lettered and the mailbox keeps flowing."""
    good = recipients("p", 4)
    poison = b"\x80\x81 this is not an internet message at all\r\n\r\n\xfe\xff"
    huge = make_dsn("huge@example.org") + b"X" * 60_000
    setup.append([make_dsn(good[0]), poison, make_dsn(good[1]), huge, make_dsn(good[2])])
    svc = start(setup, services, max_message_bytes=50_000)
    svc.wait_ready()
    wait_for_checkpoint(setup, 5)
    setup.append([make_dsn(good[3])])
    wait_for_checkpoint(setup, 6)
    assert_exactly_once(setup, good)
    dl = sorted(dead_letters(setup), key=lambda d: d["uid"])
    assert [d["uid"] for d in dl] == [2, 4]
    assert dl[0]["raw"] == poison and not dl[0]["truncated"]
    assert "not an Internet message" in dl[0]["error"] or dl[0]["error"]
    assert dl[1]["raw"] == b"" and dl[1]["truncated"] and dl[1]["size"] == len(huge)
    assert "exceeds max_message_bytes" in dl[1]["error"]
    assert svc.metric("bounce_stream_dead_lettered_messages_total") == 2


def test_one_failing_mailbox_never_stops_the_others(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """A mailbox that cannot log in is retried and reported; its neighbour keeps publishing."""
    (setup.workdir / "wrong-password").write_text("not-the-password")
    setup.overrides["extra_mailboxes"] = [
        {
            "name": "broken",
            "host": setup.dovecot.host,
            "port": setup.dovecot.port,
            "username": setup.user,
            "password_file": str(setup.workdir / "wrong-password"),
            "folder": "Other",
            "tls": False,
            "reconnect_initial_seconds": 0.2,
            "reconnect_max_seconds": 1,
        }
    ]
    rcpts = recipients("ind", 4)
    setup.append([make_dsn(r) for r in rcpts])
    svc = start(setup, services)
    wait_for_checkpoint(setup, 4)
    assert_exactly_once(setup, rcpts)
    status, body = svc.get("/readyz")
    assert status == 503 and "broken:" in body and "main:" not in body
    assert "not-the-password" not in svc.log()


def test_polling_without_idle_picks_up_new_mail(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """With IDLE off the service polls every poll_interval_seconds and still sees new mail."""
    svc = start(setup, services, idle=False, poll_interval_seconds=0.5)
    svc.wait_ready()
    assert any(e.get("event") == "imap_connected" and e["idle"] is False for e in svc.log_events())
    setup.append([make_dsn("poll@example.org")])
    wait_for_checkpoint(setup, 1, timeout=15)
    assert_exactly_once(setup, ["poll@example.org"])


def test_imap_connection_drop_reconnects_and_loses_nothing(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """Dropping the IMAP connection mid-run makes the service reconnect; nothing is lost."""
    first, second = recipients("d", 10), recipients("d", 10, start=10)
    setup.append([make_dsn(r) for r in first])
    svc = start(setup, services)
    svc.wait_ready()
    wait_for_checkpoint(setup, 10)
    setup.dovecot.kick(setup.user)
    setup.append([make_dsn(r) for r in second])
    wait_for_checkpoint(setup, 20)
    assert_exactly_once(setup, first + second)
    assert svc.metric("bounce_stream_imap_errors_total") >= 1


def test_kafka_down_at_start_and_restarted_mid_run_publishes_nothing_twice(
    kafka_factory: Callable[..., KafkaNode],
    dovecot: DovecotServer,
    imap_user: tuple[str, str],
    stack_dir: Path,
    services: list[ServiceProcess],
) -> None:
    """Kafka down at start, then restarted mid-run: the service retries and repeats nothing."""
    node = kafka_factory()
    user, password = imap_user
    setup = Setup.create(node, dovecot, user, password, stack_dir)
    first, second = recipients("b", 10), recipients("b", 10, start=10)
    setup.append([make_dsn(r) for r in first])
    node.stop()
    svc = start(setup, services)
    svc.wait_for_metric("bounce_stream_kafka_errors_total", timeout=30)
    status, body = svc.get("/readyz")
    assert status == 503 and "kafka" in body
    node.start()
    svc.wait_ready()
    wait_for_checkpoint(setup, 10, timeout=120)
    node.stop()
    setup.append([make_dsn(r) for r in second])
    time.sleep(2)
    node.start()
    wait_for_checkpoint(setup, 20, timeout=120)
    assert_exactly_once(setup, first + second)
    assert svc.proc.poll() is None


def _folder_state(setup: Setup, folder: str) -> list[tuple[int, bool]]:
    """(size, seen) of every message in ``folder``, read with the stdlib IMAP client."""
    imap = imaplib.IMAP4(setup.dovecot.host, setup.dovecot.port)
    try:
        imap.login(setup.user, setup.password)
        typ, _ = imap.select(folder, readonly=True)
        if typ != "OK":
            return []
        _, data = imap.fetch("1:*", "(RFC822.SIZE FLAGS)")
    finally:
        imap.logout()
    out = []
    for item in data:
        if isinstance(item, bytes) and b"RFC822.SIZE" in item:
            size = int(item.split(b"RFC822.SIZE ")[1].split(b" ")[0].rstrip(b")"))
            out.append((size, b"\\Seen" in item))
    return out


def test_housekeeping_runs_after_commit_and_keeps_partial_dead_letters(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """delete removes committed messages but keeps one dead-lettered only by reference."""
    good = recipients("h", 3)
    huge = make_dsn("huge@example.org") + b"X" * 60_000
    setup.append([make_dsn(good[0]), huge, make_dsn(good[1]), make_dsn(good[2])])
    assert all(not seen for _, seen in _folder_state(setup, "INBOX"))
    svc = start(setup, services, max_message_bytes=50_000, housekeeping="delete")
    svc.wait_ready()
    wait_for_checkpoint(setup, 4)
    assert_exactly_once(setup, good)
    deadline = time.monotonic() + 10
    while len(_folder_state(setup, "INBOX")) > 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _folder_state(setup, "INBOX") == [(len(huge), False)]


def test_housekeeping_move_and_no_seen_flag_by_default(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """Reading never sets \\Seen; housekeeping=move files committed messages in the target."""
    setup.dovecot.append(setup.user, "Processed", [make_not_bounce()])  # creates the folder
    rcpts = recipients("m", 3)
    setup.append([make_dsn(r) for r in rcpts])
    svc = start(setup, services)
    svc.wait_ready()
    wait_for_checkpoint(setup, 3)
    assert [seen for _, seen in _folder_state(setup, "INBOX")] == [False, False, False]
    svc.stop()
    setup.append([make_dsn("m-moved@example.org")])
    svc = start(setup, services, housekeeping="move", move_to="Processed")
    svc.wait_ready()
    wait_for_checkpoint(setup, 4)
    deadline = time.monotonic() + 10
    while len(_folder_state(setup, "Processed")) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(_folder_state(setup, "Processed")) == 2
    assert len(_folder_state(setup, "INBOX")) == 3


def test_missing_topics_are_reported_when_creation_is_off(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """With kafka.create_topics false, missing topics are named in /readyz and nothing is read."""
    setup.overrides["kafka"] = {"create_topics": False}
    setup.append([make_dsn("t-missing@example.org")])
    svc = start(setup, services)
    svc.wait_for_metric("bounce_stream_kafka_errors_total", timeout=30)
    status, body = svc.get("/readyz")
    assert status == 503
    assert setup.topics.checkpoints in body and "create_topics is false" in body
    assert checkpoint(setup) is None


def test_checkpoint_show_and_reset_replay_with_stable_ids(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """`checkpoint reset --uid` rewinds a mailbox; replayed events carry their original ids."""
    rcpts = recipients("cp", 5)
    setup.append([make_dsn(r) for r in rcpts])
    svc = start(setup, services)
    svc.wait_ready()
    cp = wait_for_checkpoint(setup, 5)
    assert svc.stop() == 0

    def cli(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "bounce_stream", *args, "--config", str(svc.config)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout

    (shown,) = [json.loads(line) for line in cli("checkpoint", "show").splitlines()]
    assert shown["name"] == "main" and shown["checkpoint"]["last_uid"] == 5
    cli(
        "checkpoint",
        "reset",
        "main",
        "--uid",
        "2",
        "--uidvalidity",
        str(cp["uidvalidity"]),
        "--yes",
    )
    assert checkpoint(setup)["last_uid"] == 2
    again = start(setup, services)
    again.wait_ready()
    wait_for_checkpoint(setup, 5)
    ids = [v["event_id"] for _, v, _ in events(setup)]
    assert len(ids) == 5 + 3 and len(set(ids)) == 5


def test_standby_takes_over_when_the_owner_dies(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """A fenced standby takes the mailbox back once the owner's heartbeat has gone quiet."""
    setup.overrides["kafka"] = {"fenced_backoff_seconds": 1}  # checks liveness every second
    first = recipients("o", 5)
    setup.append([make_dsn(r) for r in first])
    a = start(setup, services)
    a.wait_ready()
    wait_for_checkpoint(setup, 5)
    b = start(setup, services)
    b.wait_ready()
    a.wait_for_metric("bounce_stream_fenced_total", timeout=15)
    assert a.get("/readyz")[0] == 503
    b.kill()
    second = recipients("o", 5, start=5)
    setup.append([make_dsn(r) for r in second])
    # Liveness window: max(2 heartbeats, 30 s) after the owner's last checkpoint.
    a.wait_ready(timeout=90)
    wait_for_checkpoint(setup, 10)
    assert_exactly_once(setup, first + second)
    assert any(e.get("event") == "reacquiring_mailbox" for e in a.log_events())
