"""OAuth2 sign-in against real Dovecot whose ``oauth2`` passdb asks a local authorization
server (tests/integration/oauth_server.py, RFC 6749/7523/7662) about every token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dev.stack import DovecotServer, KafkaNode, start_dovecot
from tests.integration import oauth_server
from tests.integration.oauth_server import AuthServer, Client, ServiceAccount, SessionExpiry
from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    events,
    make_dsn,
    recipients,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration

DOMAIN = "oauth.example.test"


@pytest.fixture(scope="module")
def auth_server() -> Iterator[AuthServer]:
    """The token and introspection endpoints, on 127.0.0.1, for this module."""
    server = oauth_server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def oauth_dovecot(auth_server: AuthServer, stack_dir: Path) -> Iterator[DovecotServer]:
    """Dovecot offering AUTH=OAUTHBEARER and AUTH=XOAUTH2, checking tokens by introspection."""
    server = start_dovecot(
        stack_dir / "dovecot-oauth2",
        {f"seed@{DOMAIN}": uuid.uuid4().hex},
        oauth2_introspection_url=auth_server.introspection_url,
    )
    yield server
    server.stop()


@pytest.fixture
def box(oauth_dovecot: DovecotServer, kafka: KafkaNode, stack_dir: Path) -> Setup:
    """A fresh mailbox user (its password only appends the test mail) and private topics."""
    user = f"o-{uuid.uuid4().hex[:10]}@{DOMAIN}"
    password = uuid.uuid4().hex
    oauth_dovecot.add_user(user, password)
    return Setup.create(kafka, oauth_dovecot, user, password, stack_dir)


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _microsoft(
    auth_server: AuthServer, setup: Setup, *, lifetime: float = 3600
) -> tuple[dict[str, Any], Client]:
    """A registered app allowed into ``setup``'s mailbox, and the service's auth section."""
    client_id = str(uuid.uuid4())
    auth: dict[str, Any] = {
        "method": "oauth2",
        "provider": "microsoft",
        "tenant": "contoso.example",
        "client_id": client_id,
        "token_endpoint": auth_server.token_url,
    }
    secret = f"app-Secret~{uuid.uuid4().hex}"
    (setup.workdir / "client-secret").write_text(secret + "\n")
    client = Client(client_id, setup.user, secret=secret, lifetime=lifetime)
    auth["client_secret_file"] = str(setup.workdir / "client-secret")
    auth_server.clients[client_id] = client
    return auth, client


def _service(setup: Setup, auth: dict[str, Any]) -> ServiceProcess:
    # No password at all: the service signs in with a token only.
    return ServiceProcess(setup, password_file=None, auth=auth, timeout_seconds=10)


def _auth_errors(svc: ServiceProcess) -> float:
    try:
        _, body = svc.get("/metrics")
    except OSError:  # not serving yet
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("bounce_stream_imap_errors_total{") and 'reason="auth"' in line
    )


def _logins(dovecot: DovecotServer, user: str) -> list[str]:
    """The SASL mechanisms of Dovecot's successful sign-ins of ``user`` with a token, in
    order (the tests' own appends sign in with PLAIN)."""
    log = dovecot.log_path.read_text(errors="replace")
    methods = [
        line.split("method=", 1)[1].split(",", 1)[0]
        for line in log.splitlines()
        if "imap-login: Info: Login:" in line and f"user=<{user}>" in line
    ]
    return [m for m in methods if m != "PLAIN"]


def _publish(setup: Setup, prefix: str, start: int, count: int) -> list[str]:
    rcpts = recipients(prefix, count, start)
    setup.append([make_dsn(r) for r in rcpts])
    return [r.lower() for r in rcpts]


def _no_secret_in(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret and secret not in text


def test_microsoft_client_credentials_sign_in_and_publish(
    auth_server: AuthServer, box: Setup
) -> None:
    """The app's client credentials grant with its secret yields the token Dovecot accepts
    over OAUTHBEARER; events are published; neither secret nor token is logged.

    (The certificate credential's signed assertion is checked against the same token
    endpoint in tests/unit/test_oauth.py, without a service run.)"""
    auth, client = _microsoft(auth_server, box)
    expected = _publish(box, "ms", 0, 3)
    svc = _service(box, auth)
    try:
        svc.wait_ready()
        wait_for_checkpoint(box, 3)
    finally:
        svc.stop()
    assert sorted(k for k, _, _ in events(box)) == sorted(expected)
    grants = [
        g for g in auth_server.grants_of("client_credentials") if g["client"] == client.client_id
    ]
    assert grants == [
        {
            "grant_type": "client_credentials",
            "client": client.client_id,
            "how": "secret",
            "scope": "https://outlook.office365.com/.default",
        }
    ]
    assert set(_logins(box.dovecot, box.user)) == {"OAUTHBEARER"}  # fetching + IDLE connection
    issued = [t.token for t in auth_server.tokens.values() if t.client == client.client_id]
    _no_secret_in(svc.log(), *issued, client.secret or "")


def test_google_service_account_signs_in_as_the_mailbox_user(
    auth_server: AuthServer, box: Setup
) -> None:
    """The RS256 JWT bearer assertion names the mailbox as ``sub``; its token signs in over
    XOAUTH2 (the mechanism Gmail documents) and events are published."""
    key = _rsa_key()
    email = f"bounces@{uuid.uuid4().hex[:6]}.iam.example.test"
    auth_server.service_accounts[email] = ServiceAccount(email, "key-1", key.public_key(), DOMAIN)
    key_file = box.workdir / "service-account.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": email,
                "private_key_id": "key-1",
                "private_key": _pem(key),
                "token_uri": auth_server.token_url,
            }
        )
    )
    expected = _publish(box, "google", 0, 2)
    svc = _service(
        box,
        {
            "method": "oauth2",
            "provider": "google",
            "service_account_file": str(key_file),
            "mechanism": "xoauth2",
        },
    )
    try:
        svc.wait_ready()
        wait_for_checkpoint(box, 2)
    finally:
        svc.stop()
    assert sorted(k for k, _, _ in events(box)) == sorted(expected)
    grants = [g for g in auth_server.grants_of(oauth_server.JWT_BEARER) if g["client"] == email]
    assert grants == [
        {"grant_type": oauth_server.JWT_BEARER, "client": email, "sub": box.user, "how": "rs256"}
    ]
    assert set(_logins(box.dovecot, box.user)) == {"XOAUTH2"}  # fetching + IDLE connection
    issued = [t.token for t in auth_server.tokens.values() if t.client == email]
    _no_secret_in(svc.log(), *issued)


def test_token_file_is_read_again_when_it_changes(auth_server: AuthServer, box: Setup) -> None:
    """A sidecar's token file signs in; after the sidecar writes a new token (the old one
    revoked) and the connection drops, the new file's token signs in and publishing goes on."""
    first = auth_server.mint(box.user)
    token_file = box.workdir / "token"
    token_file.write_text(first + "\n")
    expected = _publish(box, "file", 0, 2)
    svc = _service(
        box, {"method": "oauth2", "provider": "token_file", "token_file": str(token_file)}
    )
    try:
        svc.wait_ready()
        wait_for_checkpoint(box, 2)
        second = auth_server.mint(box.user)
        token_file.write_text(
            json.dumps({"access_token": second, "expires_at": time.time() + 3600})
        )
        auth_server.revoke(first)
        signed_in = len(_logins(box.dovecot, box.user))
        box.dovecot.kick(box.user)
        expected += _publish(box, "file", 2, 2)
        wait_for_checkpoint(box, 4)
        errors = _auth_errors(svc)
    finally:
        svc.stop()
    assert sorted(k for k, _, _ in events(box)) == sorted(expected)
    # Signed in again after the kick (both connections: fetching and IDLE), with the new token.
    assert len(_logins(box.dovecot, box.user)) > signed_in
    assert errors == 0
    _no_secret_in(svc.log(), first, second)


TOKEN_SECONDS = 4  # short-lived tokens: two lifetimes are a short test


def _imap_errors(svc: ServiceProcess) -> float:
    return svc.metric("bounce_stream_imap_errors_total")


def _renewals(svc: ServiceProcess) -> list[dict[str, Any]]:
    return [e for e in svc.log_events() if e.get("event") == "imap_session_renewed"]


def _renewals_counted(svc: ServiceProcess) -> dict[str, float]:
    """bounce_stream_imap_sessions_renewed_total by connection, from /metrics."""
    counted: dict[str, float] = {}
    for line in svc.get("/metrics")[1].splitlines():
        if line.startswith("bounce_stream_imap_sessions_renewed_total{"):
            connection = line.split('connection="', 1)[1].split('"', 1)[0]
            counted[connection] = float(line.rsplit(" ", 1)[1])
    return counted


def _postponed(svc: ServiceProcess) -> list[str]:
    """The connections that logged a renewal put off (no new token could be had)."""
    return [
        e["connection"]
        for e in svc.log_events()
        if e.get("event") == "imap_session_renewal_postponed"
    ]


def test_sessions_sign_in_again_before_their_token_expires_and_a_refused_token_is_replaced(
    auth_server: AuthServer, box: Setup
) -> None:
    """Both connections (fetching and IDLE) sign in again with a new token before the one
    they signed in with expires, though the server ends a session whose token expired: no
    IMAP error, always ready, every event once; while no new token can be had each keeps its
    session and says so once; later a token the server refuses (revoked) is replaced once and
    the sign-in retried, still without an auth error."""
    auth, client = _microsoft(auth_server, box, lifetime=TOKEN_SECONDS)
    expected = _publish(box, "long", 0, 2)
    expiry = SessionExpiry(auth_server, box.dovecot.log_path, box.user).start()
    svc = _service(box, auth)

    def grants() -> list[dict[str, Any]]:
        return [
            g
            for g in auth_server.grants_of("client_credentials")
            if g["client"] == client.client_id
        ]

    def tokens() -> list[oauth_server.Issued]:
        return [t for t in auth_server.tokens.values() if t.client == client.client_id]

    try:
        svc.wait_ready()
        wait_for_checkpoint(box, 2)
        # 1. Two token lifetimes on live connections, with mail in the middle.
        not_ready = 0
        started = time.monotonic()
        while time.monotonic() - started < 2 * TOKEN_SECONDS + 0.5:
            if len(expected) == 2 and time.monotonic() - started > TOKEN_SECONDS:
                expected += _publish(box, "long", 2, 2)
            not_ready += svc.get("/readyz")[0] != 200
            time.sleep(0.1)
        wait_for_checkpoint(box, 4)
        counted = _renewals_counted(svc)  # before the log: a renewal may come in between
        renewed = _renewals(svc)
        assert _imap_errors(svc) == 0 and expiry.ended == [], svc.log()[-3000:]
        assert not_ready == 0
        for connection in ("fetching", "idle"):
            logged = sum(e["connection"] == connection for e in renewed)
            assert 1 <= counted[connection] <= logged, (connection, counted, logged)
        # 2. The token endpoint refuses the grant for a while (and the server stops ending
        # sessions): each connection keeps its session and tries again later.
        expiry.stop()
        secret, client.secret = client.secret, "rotated-elsewhere"
        deadline = time.monotonic() + 3 * TOKEN_SECONDS
        while sorted(_postponed(svc)) != ["fetching", "idle"]:
            assert time.monotonic() < deadline, svc.log()[-3000:]
            time.sleep(0.1)
        # 3. The endpoint is back, with long-lived tokens: both connections renew to one.
        client.secret, client.lifetime = secret, 3600
        deadline = time.monotonic() + 3 * TOKEN_SECONDS
        while {
            e["connection"]
            for e in _renewals(svc)[len(renewed) :]
            if e["token_expires_in_s"] > 3000
        } != {"fetching", "idle"}:
            assert time.monotonic() < deadline, svc.log()[-3000:]
            time.sleep(0.1)
        postponed = _postponed(svc)
        errors = _imap_errors(svc)
        # 4. The long-lived token is revoked and the connections dropped: refused once,
        # replaced, signed in again.
        long_lived = tokens()[-1]
        assert long_lived.expires_at - time.time() > 3000
        granted = len(grants())
        auth_server.revoke(long_lived.token)
        signed_in = len(_logins(box.dovecot, box.user))
        box.dovecot.kick(box.user)
        expected += _publish(box, "long", 4, 2)
        wait_for_checkpoint(box, 6)
        assert len(grants()) == granted + 1
        auth_errors = _auth_errors(svc)
    finally:
        expiry.stop()
        svc.stop()
    # Each connection renewed at least once a lifetime (at half of it: the margin is capped).
    assert sum(e["connection"] == "fetching" for e in renewed) >= 2
    assert sum(e["connection"] == "idle" for e in renewed) >= 2
    assert all(e["old_token_expires_in_s"] > 0 for e in renewed)
    assert sorted(postponed) == ["fetching", "idle"]  # once each, however many attempts
    assert errors == 0
    assert sorted(k for k, _, _ in events(box)) == sorted(expected)
    assert len(_logins(box.dovecot, box.user)) > signed_in
    assert auth_errors == 0
    _no_secret_in(svc.log(), *(t.token for t in tokens()), client.secret or "")


def test_a_token_already_near_expiry_is_not_renewed_in_a_loop(
    auth_server: AuthServer, box: Setup
) -> None:
    """A token file whose token is said to expire within a second (the sidecar is late) makes
    neither connection sign in again and again: each says so once, keeps its session while
    the file holds nothing newer, and the mailbox is served without an error."""
    token = auth_server.mint(box.user)  # the server itself accepts it for an hour
    token_file = box.workdir / "token"
    token_file.write_text(json.dumps({"access_token": token, "expires_at": time.time() + 1}))
    expected = _publish(box, "late", 0, 2)
    svc = _service(
        box, {"method": "oauth2", "provider": "token_file", "token_file": str(token_file)}
    )
    try:
        svc.wait_ready()
        wait_for_checkpoint(box, 2)
        time.sleep(3.5)  # renewal attempts at 1 s, then 2 s later: no new session either time
        logins = _logins(box.dovecot, box.user)
        logged = svc.log_events()
        errors = _imap_errors(svc)
    finally:
        svc.stop()
    assert sorted(k for k, _, _ in events(box)) == sorted(expected)
    assert logins == ["OAUTHBEARER", "OAUTHBEARER"]  # fetching and IDLE, once each
    warned = [e["connection"] for e in logged if e.get("event") == "oauth2_token_near_expiry"]
    assert sorted(warned) == ["fetching", "idle"]
    assert not any(e.get("event") == "imap_session_renewed" for e in logged)
    assert errors == 0
    _no_secret_in(svc.log(), token)


def test_a_revoked_token_is_an_auth_error_and_never_logged(
    auth_server: AuthServer, box: Setup
) -> None:
    """A token file whose token the server no longer accepts: the sign-in is refused (after
    one re-read), counted as imap_errors_total{reason="auth"}, not ready, token not logged."""
    token = auth_server.mint(box.user)
    auth_server.revoke(token)
    token_file = box.workdir / "token"
    token_file.write_text(token)
    box.append([make_dsn("revoked@example.org")])
    svc = _service(
        box, {"method": "oauth2", "provider": "token_file", "token_file": str(token_file)}
    )
    try:
        deadline = time.monotonic() + 30
        while _auth_errors(svc) < 1:
            assert svc.proc.poll() is None and time.monotonic() < deadline, svc.log()[-2000:]
            time.sleep(0.2)
        status, body = svc.get("/readyz")
        _, metrics = svc.get("/metrics")
        log = svc.log()
    finally:
        svc.stop()
    assert status == 503 and "imap" in body
    assert "sign-in refused" in log and "invalid_token" in log
    assert token not in log
    assert token not in body and token not in metrics
    assert events(box) == []
    assert _logins(box.dovecot, box.user) == []


def _config_check(setup: Setup, auth: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = setup.config(metrics_port=0, password_file=None, auth=auth, timeout_seconds=10)
    return subprocess.run(
        [sys.executable, "-m", "bounce_stream", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM")},
    )


def test_config_check_reports_the_auth_method_and_a_server_without_oauth2(
    auth_server: AuthServer, box: Setup, dovecot: DovecotServer, kafka: KafkaNode, stack_dir: Path
) -> None:
    """`config check` names the OAuth2 provider of a mailbox that signs in, and refuses with a
    clear error a server that offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2."""
    auth, _ = _microsoft(auth_server, box)
    ok = _config_check(box, auth)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "signed in with OAuth2 (microsoft, client secret, mechanism auto)" in ok.stdout

    plain = Setup.create(kafka, dovecot, box.user, box.password, stack_dir)
    refused = _config_check(plain, auth)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2" in refused.stdout


def test_oauth2_over_implicit_tls_signs_in(
    auth_server: AuthServer, kafka: KafkaNode, stack_dir: Path
) -> None:
    """Over implicit TLS (a verified certificate) the token is sent and accepted."""
    user = f"tls-{uuid.uuid4().hex[:8]}@{DOMAIN}"
    server = start_dovecot(
        stack_dir / f"dovecot-oauth2-tls-{uuid.uuid4().hex[:4]}",
        {user: uuid.uuid4().hex},
        tls=True,
        oauth2_introspection_url=auth_server.introspection_url,
    )
    try:
        setup = Setup.create(kafka, server, user, server.users[user], stack_dir)
        setup.imap_port = server.tls_port
        token_file = setup.workdir / "token"
        token_file.write_text(auth_server.mint(user))
        path = setup.config(
            metrics_port=0,
            password_file=None,
            tls="implicit",
            ca_file=str(server.ca_pem_path),
            auth={"method": "oauth2", "provider": "token_file", "token_file": str(token_file)},
            timeout_seconds=10,
        )
        result = subprocess.run(
            [sys.executable, "-m", "bounce_stream", "config", "check", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM")},
        )
        log = server.log_path.read_text(errors="replace")
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signed in with OAuth2 (token_file, mechanism auto)" in result.stdout
    assert f"Login: user=<{user}>, method=OAUTHBEARER" in log and "TLS" in log
