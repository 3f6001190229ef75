"""TLS on by default, SASL to Kafka, and secrets that never leak — against the real servers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dev.stack import SASL_MECHANISM, SASL_USERS, DovecotServer, KafkaNode
from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    events,
    make_dsn,
    recipients,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration

TLS_USER = "tls-bounces@example.test"
TLS_PASSWORD = "imap-Pa55-9f1c2e"


@pytest.fixture(scope="module")
def tls_dovecot(dovecot_factory: Callable[..., DovecotServer]) -> DovecotServer:
    """A Dovecot that requires TLS, with a certificate from a private test CA."""
    return dovecot_factory({TLS_USER: TLS_PASSWORD}, tls=True)


@pytest.fixture(scope="module")
def sasl_kafka(kafka_factory: Callable[..., KafkaNode]) -> KafkaNode:
    """A Kafka node with SASL_SSL (SCRAM-SHA-512) next to its PLAINTEXT listener."""
    return kafka_factory(sasl=True)


def test_tls_imap_and_sasl_ssl_kafka(
    tls_dovecot: DovecotServer, sasl_kafka: KafkaNode, stack_dir: Path
) -> None:
    """Verified TLS to IMAP and SASL_SSL to Kafka publish events; no password reaches the log."""
    setup = Setup.create(
        sasl_kafka, tls_dovecot, TLS_USER, TLS_PASSWORD, stack_dir, imap_port=tls_dovecot.tls_port
    )
    name, kafka_password = next(iter(SASL_USERS.items()))
    (setup.workdir / "kafka-password").write_text(kafka_password)
    setup.overrides["kafka"] = {
        "bootstrap_servers": sasl_kafka.sasl_ssl_bootstrap,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": SASL_MECHANISM,
        "sasl_username": name,
        "sasl_password_file": str(setup.workdir / "kafka-password"),
        "ssl_cafile": str(sasl_kafka.ca_pem_path),
    }
    rcpts = recipients("tls", 3)
    setup.append([make_dsn(r) for r in rcpts])
    svc = ServiceProcess(setup, tls=True, ca_file=str(tls_dovecot.ca_pem_path))
    try:
        svc.wait_ready()
        wait_for_checkpoint(setup, 3)
        metrics = svc.get("/metrics")[1]
    finally:
        svc.stop()
    assert sorted(k for k, _, _ in events(setup)) == sorted(r.lower() for r in rcpts)
    for secret in (TLS_PASSWORD, kafka_password):
        assert secret not in svc.log() and secret not in metrics


def test_tls_certificate_is_verified_by_default(
    tls_dovecot: DovecotServer, kafka: KafkaNode, stack_dir: Path
) -> None:
    """Without the test CA the server certificate is refused: not ready, retried, nothing read."""
    setup = Setup.create(
        kafka, tls_dovecot, TLS_USER, TLS_PASSWORD, stack_dir, imap_port=tls_dovecot.tls_port
    )
    setup.append([make_dsn("unverified@example.org")])
    svc = ServiceProcess(setup, tls=True)
    try:
        svc.wait_for_metric("bounce_stream_imap_errors_total")
        status, body = svc.get("/readyz")
        log = svc.log()
    finally:
        svc.stop()
    assert status == 503 and "imap" in body
    assert "CERTIFICATE_VERIFY_FAILED" in log or "certificate verify failed" in log
    assert events(setup) == []


def test_wrong_imap_password_is_reported_without_the_password(
    dovecot: DovecotServer, kafka: KafkaNode, imap_user: tuple[str, str], stack_dir: Path
) -> None:
    """A refused login is retried, reported by user name and counted as imap_errors_total
    {reason="auth"} (not connect/timeout); the password is never printed."""
    user, _ = imap_user
    wrong = "Wr0ng-Pa55-7c4d1a"
    setup = Setup.create(kafka, dovecot, user, wrong, stack_dir)
    svc = ServiceProcess(setup)
    try:
        svc.wait_for_metric("bounce_stream_imap_errors_total")
        status, body = svc.get("/readyz")
        metrics = svc.get("/metrics")[1]
    finally:
        svc.stop()
    assert status == 503 and "login refused" in body and user in body
    assert wrong not in svc.log() and wrong not in body and wrong not in metrics
    # Counted as an auth error, so a bad password is not mistaken for a network outage.
    errors = {
        line.split("reason=")[1].split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("bounce_stream_imap_errors_total{")
    }
    assert errors["auth"] >= 1 and errors["connect"] == errors["timeout"] == 0
