"""STARTTLS on the plain port against real Dovecot: upgraded and verified, or refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dev.stack import DovecotServer, KafkaNode
from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    events,
    make_dsn,
    recipients,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration

USER = "starttls-bounces@example.test"
PASSWORD = "imap-Pa55-5e7a01"


@pytest.fixture(scope="module")
def tls_dovecot(dovecot_factory: Callable[..., DovecotServer]) -> DovecotServer:
    """Dovecot with ssl = required: its plain port only accepts LOGIN after STARTTLS."""
    return dovecot_factory({USER: PASSWORD}, tls=True)


def test_starttls_on_the_plain_port_publishes_events(
    tls_dovecot: DovecotServer, kafka: KafkaNode, stack_dir: Path
) -> None:
    """tls: starttls upgrades the plain port with a verified certificate and publishes events."""
    setup = Setup.create(kafka, tls_dovecot, USER, PASSWORD, stack_dir)
    assert setup.port == tls_dovecot.port != tls_dovecot.tls_port
    rcpts = recipients("starttls", 3)
    setup.append([make_dsn(r) for r in rcpts])
    svc = ServiceProcess(setup, tls="starttls", ca_file=str(tls_dovecot.ca_pem_path))
    try:
        svc.wait_ready()
        wait_for_checkpoint(setup, 3)
    finally:
        svc.stop()
    assert sorted(k for k, _, _ in events(setup)) == sorted(r.lower() for r in rcpts)
    assert PASSWORD not in svc.log()


def test_starttls_certificate_is_verified(
    tls_dovecot: DovecotServer, kafka: KafkaNode, stack_dir: Path
) -> None:
    """Without the test CA the upgraded connection is refused: not ready, nothing read."""
    setup = Setup.create(kafka, tls_dovecot, USER, PASSWORD, stack_dir)
    setup.append([make_dsn("starttls-unverified@example.org")])
    svc = ServiceProcess(setup, tls="starttls")
    try:
        svc.wait_for_metric("bounce_stream_imap_errors_total")
        status, body = svc.get("/readyz")
        log = svc.log()
    finally:
        svc.stop()
    assert status == 503 and "imap" in body
    assert "CERTIFICATE_VERIFY_FAILED" in log or "certificate verify failed" in log
    assert events(setup) == []


def test_starttls_against_a_plaintext_only_server_never_sends_the_password(
    dovecot: DovecotServer, kafka: KafkaNode, imap_user: tuple[str, str], stack_dir: Path
) -> None:
    """A server without STARTTLS is refused with a clear error; Dovecot sees no login attempt."""
    user, password = imap_user
    setup = Setup.create(kafka, dovecot, user, password, stack_dir)
    # Nothing is appended and imap_user's users have never signed in: any line naming the user
    # in the whole log would be the service's.
    before = dovecot.log_path.read_text(errors="replace")
    assert f"user=<{user}>" not in before and f"imap({user})" not in before
    svc = ServiceProcess(setup, tls="starttls")
    try:
        svc.wait_for_metric("bounce_stream_imap_errors_total")
        status, body = svc.get("/readyz")
    finally:
        svc.stop()
    assert status == 503 and "does not offer STARTTLS" in body, body
    assert password not in svc.log()
    # Dovecot logs each connection that ends before signing in, with its auth attempt count;
    # its log process writes a moment after the disconnect.
    deadline = time.monotonic() + 10
    while "no auth attempts" not in (
        log := dovecot.log_path.read_text(errors="replace")[len(before) :]
    ):
        assert time.monotonic() < deadline, log[-2000:]
        time.sleep(0.2)
    log = dovecot.log_path.read_text(errors="replace")
    assert f"user=<{user}>" not in log and f"imap({user})" not in log
