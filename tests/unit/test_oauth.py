"""OAuth2 sign-in parts: auth settings, token providers and caching, SASL messages, secrecy."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aioimaplib import aioimaplib as _imaplib
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bounce_stream.mailbox import oauth
from bounce_stream.mailbox.imap import (
    ImapAuthError,
    ImapError,
    ImapMailbox,
    _SaslCommand,
    _Violation,
)
from bounce_stream.mailbox.oauth import (
    AccessToken,
    GoogleServiceAccount,
    MicrosoftClientCredentials,
    RenewalPlan,
    TokenError,
    TokenFile,
    TokenProvider,
    error_status,
    oauthbearer_response,
    renewal_time,
    xoauth2_response,
)
from bounce_stream.settings import AuthSettings, ConfigError, MailboxSettings, load_settings
from tests.integration import oauth_server
from tests.integration.oauth_server import Client, ServiceAccount, verify_rs256

SECRET = "cl1ent-Secret~" + "x" * 20
TOKEN = "ya29.a0-TOKEN-" + "t" * 40


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _cert(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def _mailbox(auth: dict[str, Any], **kw: Any) -> MailboxSettings:
    fields: dict[str, Any] = {
        "name": "m",
        "host": "imap.example.com",
        "username": "bounces@example.com",
        "auth": auth,
    }
    fields.update(kw)
    return MailboxSettings.model_validate(fields)


def _config_error(mailbox: dict[str, Any]) -> str:
    env = {
        f"BOUNCE_STREAM__MAILBOXES__0__{k.upper()}": v
        for k, v in {"name": "m", "host": "imap.example.com", "username": "u@example.com"}.items()
    }
    for key, value in mailbox.items():
        env[f"BOUNCE_STREAM__MAILBOXES__0__{key.upper()}"] = value
    with pytest.raises(ConfigError) as info:
        load_settings(None, env)
    return str(info.value)


# -- settings -----------------------------------------------------------------------------


def test_oauth2_settings_errors_name_the_missing_field() -> None:
    """Each provider's missing setting is named, under mailboxes.N.auth."""
    base = {"AUTH__METHOD": "oauth2"}
    assert "needs provider" in _config_error(base)
    ms = {**base, "AUTH__PROVIDER": "microsoft"}
    assert "mailboxes.0.auth: provider microsoft needs tenant" in _config_error(ms)
    assert "needs client_id" in _config_error({**ms, "AUTH__TENANT": "contoso.example"})
    message = _config_error({**ms, "AUTH__TENANT": "t", "AUTH__CLIENT_ID": "c"})
    assert "needs client_secret" in message
    google = {**base, "AUTH__PROVIDER": "google"}
    assert "needs service_account_file" in _config_error(google)
    assert "needs token_file" in _config_error({**base, "AUTH__PROVIDER": "token_file"})


def test_oauth2_settings_refuse_mixed_or_unsafe_configurations(tmp_path: Path) -> None:
    """A password beside oauth2, another provider's key, a plain token endpoint or tls none
    to a remote host are refused, naming the offending setting; no secret in the text."""
    token_file = str(tmp_path / "t")
    oauth = {"method": "oauth2", "provider": "token_file", "token_file": token_file}
    with pytest.raises(ValueError, match="remove password"):
        _mailbox(oauth, password=SECRET)
    with pytest.raises(ValueError, match="tenant do not apply to provider token_file"):
        _mailbox({**oauth, "tenant": "t"})
    with pytest.raises(ValueError, match="scope do not apply to provider token_file"):
        _mailbox({**oauth, "scope": "https://mail.google.com/"})
    with pytest.raises(ValueError, match="tls none is allowed only to a loopback host"):
        _mailbox(oauth, tls="none")
    assert _mailbox(oauth, tls="none", host="127.0.0.1").auth.token_file == Path(token_file)
    with pytest.raises(ValueError, match="http:// is accepted for a loopback host only"):
        _mailbox({**oauth, "token_endpoint": "http://login.example.com/token"})
    with pytest.raises(ValueError, match="apply only with method: oauth2"):
        _mailbox({"method": "login", "provider": "google"}, password=SECRET)
    message = _config_error(
        {
            "AUTH__METHOD": "oauth2",
            "AUTH__PROVIDER": "microsoft",
            "AUTH__TENANT": "t",
            "AUTH__CLIENT_ID": "c",
            "AUTH__CLIENT_SECRET": SECRET,
            "AUTH__CERTIFICATE_FILE": str(tmp_path / "missing.pem"),
        }
    )
    assert "client_secret or certificate_file, not both" in message
    assert SECRET not in message


def test_service_account_file_is_checked_at_load(tmp_path: Path) -> None:
    """A Google key file that is not a service account key, or lacks a field, is refused
    with the field's name and without the key's content."""
    path = tmp_path / "key.json"
    auth = {"method": "oauth2", "provider": "google", "service_account_file": str(path)}
    path.write_text(json.dumps({"type": "authorized_user", "private_key": "SECRETKEY"}))
    with pytest.raises(ValueError, match="service_account") as info:
        _mailbox(auth)
    assert "SECRETKEY" not in str(info.value)
    path.write_text(json.dumps({"type": "service_account", "client_email": "a@b"}))
    with pytest.raises(ValueError, match="service_account_file has no private_key"):
        _mailbox(auth)


def test_secrets_stay_out_of_settings_reprs(tmp_path: Path) -> None:
    """The client secret, the private key and the service account key are not in reprs."""
    key = _key()
    pem = tmp_path / "app.pem"
    pem.write_text(_cert(key).public_bytes(serialization.Encoding.PEM).decode() + _pem(key))
    cert_box = _mailbox(
        {
            "method": "oauth2",
            "provider": "microsoft",
            "tenant": "t",
            "client_id": "c",
            "certificate_file": str(pem),
        }
    )
    secret_box = _mailbox(
        {
            "method": "oauth2",
            "provider": "microsoft",
            "tenant": "t",
            "client_id": "c",
            "client_secret": SECRET,
        }
    )
    pem_body = _pem(key).splitlines()[1]
    for box in (cert_box, secret_box):
        for text in (repr(box), str(box), repr(box.auth), box.model_dump_json()):
            assert SECRET not in text and pem_body not in text
    assert cert_box.auth.summary == "OAuth2 (microsoft, certificate, mechanism auto)"
    assert secret_box.secrets == [SECRET]


# -- token endpoint providers ---------------------------------------------------------------


@pytest.fixture
def auth_server() -> Iterator[oauth_server.AuthServer]:
    server = oauth_server.start()
    yield server
    server.stop()


def _microsoft_auth(endpoint: str, **kw: Any) -> AuthSettings:
    return AuthSettings.model_validate(
        {
            "method": "oauth2",
            "provider": "microsoft",
            "tenant": "contoso.example",
            "client_id": "app-1",
            "token_endpoint": endpoint,
            **kw,
        }
    )


def test_microsoft_certificate_assertion_is_accepted_by_a_conformant_endpoint(
    auth_server: oauth_server.AuthServer, tmp_path: Path
) -> None:
    """The client assertion is an RS256 JWT with x5t = the certificate's SHA-1 thumbprint,
    iss = sub = client_id, aud = the token endpoint: the endpoint verifies and grants it."""
    key = _key()
    cert = _cert(key)
    pem = tmp_path / "app.pem"
    pem.write_text(cert.public_bytes(serialization.Encoding.PEM).decode())
    key_file = tmp_path / "app.key"
    key_file.write_text(_pem(key))
    auth_server.clients["app-1"] = Client("app-1", "box@example.com", certificate=cert)
    auth = _microsoft_auth(
        auth_server.token_url, certificate_file=str(pem), private_key_file=str(key_file)
    )
    provider = MicrosoftClientCredentials(auth)
    token = asyncio.run(provider.token())
    assert auth_server.active(token.value) is not None
    assert auth_server.grants == [
        {
            "grant_type": "client_credentials",
            "client": "app-1",
            "how": "certificate",
            "scope": "https://outlook.office365.com/.default",
        }
    ]
    header, claims = verify_rs256(provider._assertion(), key.public_key())
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    assert claims["iss"] == claims["sub"] == "app-1"
    assert claims["aud"] == auth_server.token_url
    assert 0 < claims["exp"] - claims["nbf"] <= 600


def test_google_assertion_names_the_mailbox_and_is_signed_with_the_key(
    auth_server: oauth_server.AuthServer, tmp_path: Path
) -> None:
    """The JWT bearer assertion carries iss = client_email, sub = the mailbox user, the
    mail scope, aud = token_uri and kid, and verifies with the key's public half."""
    key = _key()
    auth_server.service_accounts["sa@p.iam.example"] = ServiceAccount(
        "sa@p.iam.example", "kid-7", key.public_key(), "example.com"
    )
    path = tmp_path / "sa.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": "sa@p.iam.example",
                "private_key_id": "kid-7",
                "private_key": _pem(key),
                "token_uri": auth_server.token_url,
            }
        )
    )
    auth = AuthSettings.model_validate(
        {"method": "oauth2", "provider": "google", "service_account_file": str(path)}
    )
    provider = GoogleServiceAccount(auth, "bounces@example.com")
    token = asyncio.run(provider.token())
    issued = auth_server.active(token.value)
    assert issued is not None and issued.username == "bounces@example.com"
    header, claims = verify_rs256(provider._assertion(), key.public_key())
    assert header["kid"] == "kid-7"
    assert claims["scope"] == "https://mail.google.com/"
    assert claims["sub"] == "bounces@example.com" and claims["iss"] == "sa@p.iam.example"
    # Another user's key pair does not verify it.
    with pytest.raises(oauth_server.GrantRefused):
        verify_rs256(provider._assertion(), _key().public_key())


def test_wrong_client_secret_is_an_auth_error_without_the_secret(
    auth_server: oauth_server.AuthServer,
) -> None:
    """A refused grant reports HTTP status and the registered error code only."""
    auth_server.clients["app-1"] = Client("app-1", "box@example.com", secret="right")
    provider = MicrosoftClientCredentials(
        _microsoft_auth(auth_server.token_url, client_secret=SECRET)
    )
    with pytest.raises(TokenError) as info:
        asyncio.run(provider.token())
    assert info.value.reason == "auth"
    assert (
        str(info.value) == "token endpoint 127.0.0.1 refused the grant: HTTP 401 (invalid_client)"
    )
    assert SECRET not in repr(provider)


class _Hostile(BaseHTTPRequestHandler):
    """A token endpoint that misbehaves as the path says."""

    def log_message(self, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if self.path == "/echo":  # an error description quoting the request
            data = json.dumps({"error": "invalid_client", "error_description": body}).encode()
            status = 401
        elif self.path == "/huge":
            data = b'{"access_token": "' + b"a" * (oauth.MAX_RESPONSE_BYTES + 10) + b'"}'
            status = 200
        elif self.path == "/redirect":
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:9/steal")
            self.end_headers()
            return
        elif self.path == "/slow":
            time.sleep(2)
            data, status = b"{}", 200
        else:
            data = json.dumps(
                {"access_token": "bad token\r\nX", "token_type": "Bearer", "expires_in": 60}
            ).encode()
            status = 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (/slow)
            self.wfile.write(data)


@pytest.fixture
def hostile() -> Iterator[str]:
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{http.server_address[1]}"
    http.shutdown()
    http.server_close()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/echo", "HTTP 401 (invalid_client)"),
        ("/huge", "answer over 65536 bytes"),
        ("/redirect", "HTTP 307 without a JSON object"),
        ("/slow", "no answer in 1 s"),
        ("/badtoken", "characters a bearer token cannot"),
    ],
)
def test_hostile_token_endpoint_answers_give_our_own_error_text(
    hostile: str, path: str, expected: str
) -> None:
    """An echoing, oversized, redirecting, slow or malformed answer fails with a text of
    ours: no request content (the client secret), no answer content."""
    provider = MicrosoftClientCredentials(
        _microsoft_auth(hostile + path, client_secret=SECRET, token_timeout_seconds=1)
    )
    with pytest.raises(TokenError) as info:
        asyncio.run(provider.token())
    assert expected in str(info.value)
    assert SECRET not in str(info.value) and "bad token" not in str(info.value)


def test_unreachable_or_untrusted_endpoint_is_a_connect_error(hostile: str) -> None:
    """A closed port or a certificate that is not trusted is a connect error naming the
    cause (socket or TLS), never the request."""
    closed = MicrosoftClientCredentials(
        _microsoft_auth("http://127.0.0.1:9/token", client_secret=SECRET)
    )
    with pytest.raises(TokenError, match=r"unreachable \(Connection refused\)") as info:
        asyncio.run(closed.token())
    assert info.value.reason == "connect"
    # A plain HTTP server spoken to with TLS: the handshake fails.
    tls = MicrosoftClientCredentials(
        _microsoft_auth(hostile.replace("http:", "https:") + "/x", client_secret=SECRET)
    )
    with pytest.raises(TokenError, match=r"unreachable \(TLS ") as info:
        asyncio.run(tls.token())
    assert SECRET not in str(info.value)


# -- caching and renewal --------------------------------------------------------------------


class _Counting(TokenProvider):
    def __init__(self, lifetime: float, margin: float = 300) -> None:
        super().__init__(margin)
        self.lifetime = lifetime

    async def _fetch(self) -> AccessToken:
        return AccessToken(f"tok-{self.fetches}", time.time() + self.lifetime)


def test_tokens_are_cached_until_the_margin_before_expiry() -> None:
    """A token is reused while fresh; a short-lived one is renewed after half its life."""

    async def scenario() -> list[str]:
        long = _Counting(3600)
        seen = [(await long.token()).value, (await long.token()).value]
        short = _Counting(0.4)
        seen.append((await short.token()).value)
        seen.append((await short.token()).value)
        await asyncio.sleep(0.25)  # past half of 0.4 s: renewed
        seen.append((await short.token()).value)
        return seen

    assert asyncio.run(scenario()) == ["tok-0", "tok-0", "tok-0", "tok-0", "tok-1"]


def test_renewal_time_is_the_margin_before_expiry_but_never_before_half_the_lifetime() -> None:
    """A token is replaced ``margin`` seconds before it expires, a short-lived one at half its
    lifetime, and one without a known expiry never."""
    hour = AccessToken("t", expires_at=1000.0 + 3600, obtained_at=1000.0)
    assert renewal_time(hour, 300) == 1000.0 + 3300
    assert renewal_time(hour, 0) == 1000.0 + 3600
    short = AccessToken("t", expires_at=1000.0 + 4, obtained_at=1000.0)
    assert renewal_time(short, 300) == 1000.0 + 2
    assert renewal_time(AccessToken("t", obtained_at=1000.0), 300) == math.inf


def test_renewal_plan_follows_the_token_with_time_to_spare() -> None:
    """After a sign-in with a token due later, the connection is due at the token's renewal
    time, not before; a password sign-in (cleared plan) is never due."""
    plan = RenewalPlan(min_gap=1, max_gap=300)
    assert not plan.is_due(1e12)  # nothing signed in yet
    assert plan.signed_in(now=100, renew_at=102) is False
    assert plan.due == 102 and not plan.held_back
    assert not plan.is_due(101.9) and plan.is_due(102)
    assert plan.seconds_left(100.5) == 1.5 and plan.seconds_left(103) == 0
    plan.clear()
    assert not plan.is_due(1e12) and plan.seconds_left(0) == math.inf


def test_tokens_already_near_expiry_are_renewed_at_a_doubling_gap_and_reported_once() -> None:
    """A token due (nearly) at once does not make the connection sign in again and again: the
    attempts are spaced 1, 2, 4 ... s apart up to the cap, only the first of the run says so,
    and a token with time to spare ends the run (the next short one starts at 1 s again)."""
    plan = RenewalPlan(min_gap=1, max_gap=8)
    now = 0.0
    reports, gaps = [], []
    for _ in range(6):  # each sign-in gives a token already past its renewal time
        reports.append(plan.signed_in(now, renew_at=now - 5))
        gaps.append(plan.due - now)
        now = plan.due
    assert reports == [True, False, False, False, False, False]
    assert gaps == [1, 2, 4, 8, 8, 8]
    assert plan.signed_in(now, renew_at=now + 0.5) is False  # still short: no new report
    assert plan.signed_in(now, renew_at=now + 60) is False
    assert plan.due == now + 60 and not plan.held_back
    assert plan.signed_in(now, renew_at=now) is True  # a new run, from the smallest gap
    assert plan.due == now + 1


def test_a_due_renewal_without_a_newer_token_is_tried_again_later() -> None:
    """When the token source has nothing newer yet (a sidecar's file not rewritten), the
    attempt is held back by the gap, reported once, and the next real token resets it."""
    plan = RenewalPlan(min_gap=1, max_gap=300)
    plan.signed_in(now=0, renew_at=50)
    assert plan.is_due(50)
    assert plan.hold_back(50) is True and plan.due == 51
    assert plan.hold_back(51) is False and plan.due == 53
    assert plan.signed_in(now=53, renew_at=3000) is False and plan.due == 3000


def test_a_provider_renews_its_cached_token_when_connections_are_due_to_sign_in_again() -> None:
    """A connection's renewal time is the moment its provider stops handing out the cached
    token, so signing in again at that time gets a new one."""

    async def scenario() -> tuple[bool, str, str]:
        provider = _Counting(lifetime=0.4)
        first = await provider.token()
        due = provider.renew_at(first)
        before = await provider.token()
        in_time = first.obtained_at <= time.time() < due
        await asyncio.sleep(max(0.0, due - time.time()) + 0.01)
        after = await provider.token()
        return in_time, before.value, after.value

    in_time, before, after = asyncio.run(scenario())
    assert in_time and before == "tok-0" and after == "tok-1"


def test_refresh_replaces_only_the_refused_token() -> None:
    """After a refusal a new token is fetched once; a caller holding an older refused token
    gets the already-renewed one without another fetch."""

    async def scenario() -> tuple[str, str, int]:
        provider = _Counting(3600)
        first = await provider.token()
        second = await provider.refresh(first)
        again = await provider.refresh(first)
        return second.value, again.value, provider.fetches

    assert asyncio.run(scenario()) == ("tok-1", "tok-1", 2)


def test_token_file_is_read_again_when_it_changes_and_checked(tmp_path: Path) -> None:
    """Plain and JSON token files are read; a change is noticed; junk is refused with our text."""
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    provider = TokenFile(
        AuthSettings.model_validate(
            {"method": "oauth2", "provider": "token_file", "token_file": str(path)}
        )
    )

    async def read() -> AccessToken:
        return await provider.token()

    first = asyncio.run(read())
    assert first.value == TOKEN and first.expires_at == math.inf
    assert asyncio.run(read()) is first
    path.write_text(json.dumps({"access_token": "second-token", "expires_at": 2_000_000_000}))
    second = asyncio.run(read())
    assert (second.value, second.expires_at) == ("second-token", 2_000_000_000)
    path.write_text("two words\n")
    with pytest.raises(TokenError, match="characters a bearer token cannot") as info:
        asyncio.run(read())
    assert "two words" not in str(info.value)
    path.unlink()
    with pytest.raises(TokenError, match="token_file cannot be read"):
        asyncio.run(read())


def test_token_never_appears_in_reprs_or_strings() -> None:
    """AccessToken and the SASL command show no token; str() too."""
    token = AccessToken(TOKEN, 123.0)
    assert TOKEN not in repr(token) and TOKEN not in str(token) and TOKEN not in f"{token}"
    command = _SaslCommand(
        "A1",
        "XOAUTH2",
        xoauth2_response("u@example.com", TOKEN),
        b"",
        inline=True,
        write=lambda _data: None,
        loop=asyncio.new_event_loop(),
    )
    encoded = base64.b64encode(xoauth2_response("u@example.com", TOKEN)).decode()
    for text in (repr(command), str(command)):
        assert TOKEN not in text and encoded not in text


# -- SASL -----------------------------------------------------------------------------------


def test_oauthbearer_and_xoauth2_initial_responses() -> None:
    """OAUTHBEARER's gs2 header, kvpairs and ^A separators follow RFC 7628 3.1 (its example);
    XOAUTH2 is user=...^Aauth=Bearer ...^A^A."""
    assert (
        oauthbearer_response(
            "user@example.com",
            "server.example.com",
            143,
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        )
        == b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    )
    assert oauthbearer_response("a,b=c", "h", 993, "t").startswith(b"n,a=a=2Cb=3Dc,\x01")
    google_example = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
    assert xoauth2_response("someuser@example.com", google_example) == (
        b"user=someuser@example.com\x01auth=Bearer " + google_example.encode() + b"\x01\x01"
    )


def test_error_status_reads_only_a_short_status_word() -> None:
    """The RFC 7628 error challenge's status is read; junk, long or odd values give None."""
    challenge = base64.b64encode(
        b'{"status":"invalid_token","scope":"example_scope",'
        b'"openid-configuration":"https://example.com/.well-known/openid-configuration"}'
    )
    assert error_status(challenge) == "invalid_token"
    assert error_status(base64.b64encode(b'{"status":"401"}')) == "401"
    assert error_status(base64.b64encode(b'{"status":"evil text\\r\\nwith spaces"}')) is None
    assert error_status(b"not base64!") is None
    assert error_status(base64.b64encode(b"[1, 2]")) is None
    assert error_status(b"A" * 9000) is None


def _exchange(inline: bool, lines: list[bytes]) -> tuple[list[bytes], str | None]:
    sent: list[bytes] = []
    loop = asyncio.new_event_loop()
    try:
        command = _SaslCommand(
            "A1",
            "OAUTHBEARER",
            b"initial",
            b"\x01",
            inline=inline,
            write=sent.append,
            loop=loop,
        )
        for line in lines:
            command.append_to_resp(line)
            command.flush()
        return sent, command.status
    finally:
        loop.close()


def test_sasl_exchange_answers_continuations_as_rfc_7628_says() -> None:
    """Without SASL-IR the first "+" gets the initial response; an error challenge gets the
    dummy ^A and its status is kept; a further challenge cancels with "*"."""
    error = b"+ " + base64.b64encode(b'{"status":"invalid_token"}')
    sent, status = _exchange(False, [b"+ ", error, b"+ more"])
    assert sent == [
        base64.b64encode(b"initial") + b"\r\n",
        base64.b64encode(b"\x01") + b"\r\n",
        b"*\r\n",
    ]
    assert status == "invalid_token"
    sent, status = _exchange(True, [error])
    assert sent == [b"AQ==\r\n"] and status == "invalid_token"


def test_sasl_command_line_carries_the_initial_response_only_with_sasl_ir() -> None:
    """With SASL-IR the initial response rides on the command line; without, it waits."""
    loop = asyncio.new_event_loop()
    try:
        command = _SaslCommand(
            "A7", "XOAUTH2", b"abc", b"", inline=True, write=lambda _d: None, loop=loop
        )
        assert command.wire(True) == b"A7 AUTHENTICATE XOAUTH2 YWJj\r\n"
        assert command.wire(False) == b"A7 AUTHENTICATE XOAUTH2\r\n"
    finally:
        loop.close()


def test_sasl_exchange_past_the_cancel_is_a_protocol_violation() -> None:
    """A server that keeps sending challenges after "*" breaks the protocol: the exchange
    stops instead of answering forever."""
    with pytest.raises(_Violation, match="kept challenging"):
        _exchange(True, [b"+ a", b"+ b", b"+ c"])


def _oauth_box(**kw: Any) -> ImapMailbox:
    settings = _mailbox(
        {"method": "oauth2", "provider": "token_file", "token_file": "/nonexistent", **kw}
    )
    return ImapMailbox(settings)


def _client(*capabilities: str, tls: bool = True) -> Any:
    transport = SimpleNamespace(get_extra_info=lambda name: object() if tls else None)
    protocol = SimpleNamespace(
        capabilities=set(capabilities), transport=transport, state=_imaplib.NONAUTH
    )
    return SimpleNamespace(protocol=protocol)


def test_mechanism_prefers_oauthbearer_then_xoauth2_and_refuses_neither() -> None:
    """OAUTHBEARER when advertised, else XOAUTH2; a forced mechanism must be advertised;
    a server with neither is refused with a clear auth error."""
    auto = _oauth_box()
    assert auto._mechanism(_client("AUTH=XOAUTH2", "AUTH=OAUTHBEARER")) == "OAUTHBEARER"
    assert auto._mechanism(_client("AUTH=PLAIN", "AUTH=XOAUTH2")) == "XOAUTH2"
    with pytest.raises(ImapAuthError, match="offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2"):
        auto._mechanism(_client("AUTH=PLAIN", "AUTH=LOGIN"))
    forced = _oauth_box(mechanism="xoauth2")
    assert forced._mechanism(_client("AUTH=XOAUTH2", "AUTH=OAUTHBEARER")) == "XOAUTH2"
    with pytest.raises(ImapAuthError, match=r"does not offer AUTH=XOAUTH2 \(auth.mechanism"):
        forced._mechanism(_client("AUTH=OAUTHBEARER"))


def test_no_token_is_sent_over_a_connection_without_tls() -> None:
    """With tls implicit or starttls, a transport that is not encrypted is refused before
    any token is asked for (the token file here does not even exist)."""
    box = _oauth_box()

    async def attempt() -> None:
        assert box._tokens is not None
        await box._oauth2(_client("AUTH=OAUTHBEARER", tls=False), box._tokens)

    with pytest.raises(ImapError, match="unencrypted") as info:
        asyncio.run(attempt())
    assert info.value.reason == "auth"
