"""Real mail flow end to end: Postfix (the bounce lab's private instance) fails mail against the
lab's scripted remote servers, delivers the bounces it writes into the Dovecot test mailbox
(Dovecot's LDA, run by Postfix's pipe), bounce-stream publishes them, and an independent
read_committed consumer (kcat + fastavro) checks recipient, reason and status.

No file is copied in between: the bounces travel through Postfix and Dovecot.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dev.bouncelab import scenarios as sc
from dev.bouncelab.lab import _submit
from dev.bouncelab.postfix import Postfix
from dev.bouncelab.remote import RemoteSide
from dev.stack import DovecotServer, KafkaNode
from tests.integration.pipeline import ServiceProcess, Setup, events

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LDA = "/usr/lib/dovecot/dovecot-lda"
# Remote rejections whose labels do not depend on the classifier's open work (see the lab's
# score for those): one recipient each, and one message with several fates.
SCENARIOS = ("rcpt-unknown", "rcpt-mailboxfull", "eod-mesgtoobig", "multi-permanent")


@pytest.fixture(scope="module")
def lab_root() -> Path:
    """The MTAs' extracted packages (scripts/bounce-lab.sh installs them, cached)."""
    proc = subprocess.run(
        [str(REPO / "scripts/bounce-lab.sh"), "--install-only"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def remote() -> Iterator[RemoteSide]:
    side = RemoteSide(dns=False)  # Postfix routes every lab domain to a literal address
    side.start()
    yield side
    side.stop()


@pytest.fixture
def postfix_into_dovecot(
    lab_root: Path, remote: RemoteSide, dovecot: DovecotServer, imap_user: tuple[str, str]
) -> Iterator[Postfix]:
    """Postfix, whose bounces go to ``imap_user``'s INBOX through Dovecot's LDA."""
    work = Path(tempfile.mkdtemp(prefix="bl-e2e-", dir="/tmp"))
    work.chmod(0o755)
    lda = [
        LDA,
        "-c",
        str(dovecot.config_path),
        "-o",
        "log_path=/dev/stderr",
        "-o",
        "info_log_path=/dev/stderr",
        "-o",
        "debug_log_path=/dev/stderr",
        "-d",
        imap_user[0],
    ]
    pf = Postfix(
        name="postfix",
        root=lab_root,
        work=work / "postfix",
        remote_port=remote.port,
        dns_host="",
        return_command=lda,
        return_user="dovecot",
    )
    pf.work.mkdir()
    try:
        pf.start()
        yield pf
    finally:
        pf.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_postfix_bounces_reach_kafka_through_dovecot_with_their_labels(
    kafka: KafkaNode,
    dovecot: DovecotServer,
    imap_user: tuple[str, str],
    stack_dir: Path,
    postfix_into_dovecot: Postfix,
) -> None:
    """Every recipient Postfix bounced becomes exactly one committed event whose reason and
    status are the lab's labels; the delivered recipient gives none."""
    scenarios = [sc.BY_NAME[n] for n in SCENARIOS]
    want = {r.lower(): lab for s in scenarios for r, lab in sc.expected(s, "postfix").items()}
    log: list[str] = []
    _submit(postfix_into_dovecot, scenarios, log)
    assert log == []
    user, password = imap_user
    setup = Setup.create(kafka, dovecot, user, password, stack_dir)
    svc = ServiceProcess(setup)
    try:
        svc.wait_ready()
        deadline = time.monotonic() + 60
        got = events(setup)
        while len(got) < len(want) and time.monotonic() < deadline:
            time.sleep(0.5)
            got = events(setup)
    finally:
        svc.stop()
    keys = sorted(k for k, _, _ in got)
    assert keys == sorted(want), (keys, postfix_into_dovecot.log_tail())
    for key, value, _ in got:
        label = want[key]
        assert (value["recipient"], value["reason"], value["status"]) == (
            key,
            label.reason,
            label.status,
        )
        assert value["hard_bounce"] is label.hard
        assert value["reporting_mta"] == "mx.postfix.lab.test"
