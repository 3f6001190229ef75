"""A small OAuth2 authorization server for the tests, on 127.0.0.1, written from the RFCs.

- ``POST /token`` (RFC 6749 3.2), form-encoded, answering JSON (5.1) or an error (5.2):
  the client credentials grant (4.4) with ``client_secret`` (2.3.1) or a client assertion
  (RFC 7523 2.2: an RS256 JWT whose signature is checked with the registered certificate's
  public key, ``x5t`` its thumbprint), as the Microsoft identity platform takes it; and the
  JWT bearer grant (RFC 7523 2.1), RS256 checked with the service account's public key, as
  Google takes it for domain-wide delegation (``sub`` = the mailbox user).
- ``POST /introspect`` (RFC 7662), HTTP Basic auth of the resource server (Dovecot's
  ``oauth2`` passdb, ``introspection_mode = post``): ``active`` and ``username`` of a token.

Tokens are opaque random strings with a server-side expiry; tests can revoke them, mint them
directly (for the token file) and read what each endpoint received.

:class:`SessionExpiry` adds what Exchange Online does and Dovecot does not: it ends each IMAP
session once the token it signed in with has expired.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import signal
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_BODY = 64 * 1024


class GrantRefused(Exception):
    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verify_rs256(jwt: str, key: rsa.RSAPublicKey) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a compact RS256 JWS whose signature ``key`` verifies."""
    try:
        head_b64, claims_b64, sig_b64 = jwt.split(".")
        header = json.loads(_b64url_decode(head_b64))
        claims = json.loads(_b64url_decode(claims_b64))
        signature = _b64url_decode(sig_b64)
    except ValueError:
        raise GrantRefused("invalid_grant") from None
    if header.get("alg") != "RS256":
        raise GrantRefused("invalid_grant")
    try:
        key.verify(
            signature, f"{head_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        raise GrantRefused("invalid_grant") from None
    now = time.time()
    if not isinstance(claims.get("exp"), int) or claims["exp"] < now - 30:
        raise GrantRefused("invalid_grant")
    if claims.get("exp", 0) - claims.get("iat", now) > 3600 + 60:
        raise GrantRefused("invalid_grant")  # RFC 7523 3: an assertion's lifetime is limited
    return header, claims


def _unverified_claims(jwt: str) -> dict[str, Any]:
    try:
        claims = json.loads(_b64url_decode(jwt.split(".")[1]))
    except (ValueError, IndexError):
        raise GrantRefused("invalid_client", 401) from None
    return claims if isinstance(claims, dict) else {}


@dataclass
class Client:
    """A registered confidential client (Microsoft app registration) with mailbox access."""

    client_id: str
    mailbox: str  # the one mailbox this app may open (an application access policy)
    secret: str | None = None
    certificate: x509.Certificate | None = None
    lifetime: float = 3600.0


@dataclass
class ServiceAccount:
    """A Google service account allowed to act for the users of ``domain``."""

    client_email: str
    key_id: str
    public_key: rsa.RSAPublicKey
    domain: str
    lifetime: float = 3600.0


@dataclass
class Issued:
    token: str
    username: str
    client: str
    scope: str
    expires_at: float
    revoked: bool = False


@dataclass
class AuthServer:
    """The authorization server's state; :func:`start` serves it over HTTP."""

    introspection_user: str = "dovecot"
    introspection_password: str = field(default_factory=lambda: secrets.token_hex(12))
    port: int = 0
    clients: dict[str, Client] = field(default_factory=dict)
    service_accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    tokens: dict[str, Issued] = field(default_factory=dict)
    grants: list[dict[str, Any]] = field(default_factory=list)
    introspections: list[str] = field(default_factory=list)
    # (username, token) of each introspection that found the token active, in order.
    accepted: list[tuple[str, str]] = field(default_factory=list)
    microsoft_scope: str = "https://outlook.office365.com/.default"
    google_scope: str = "https://mail.google.com/"
    lock: threading.Lock = field(default_factory=threading.Lock)
    _http: ThreadingHTTPServer | None = None

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        """The URL Dovecot is given, with its Basic credentials."""
        return (
            f"http://{self.introspection_user}:{self.introspection_password}"
            f"@127.0.0.1:{self.port}/introspect"
        )

    # -- test controls

    def mint(self, username: str, *, lifetime: float = 3600.0, client: str = "direct") -> str:
        """A valid token for ``username``, issued outside any grant (e.g. for a token file)."""
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = Issued(token, username, client, "", time.time() + lifetime)
        return token

    def revoke(self, token: str) -> None:
        with self.lock:
            self.tokens[token].revoked = True

    def active(self, token: str) -> Issued | None:
        with self.lock:
            issued = self.tokens.get(token)
        if issued is None or issued.revoked or issued.expires_at <= time.time():
            return None
        return issued

    def grants_of(self, grant_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return [g for g in self.grants if g["grant_type"] == grant_type]

    # -- endpoints

    def token_endpoint(self, form: dict[str, str]) -> dict[str, Any]:
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            client, how = self._authenticate_client(form)
            if form.get("scope") != self.microsoft_scope:
                raise GrantRefused("invalid_scope")
            issued = self._issue(client.mailbox, client.client_id, form["scope"], client.lifetime)
            self._record(grant_type, client=client.client_id, how=how, scope=form["scope"])
        elif grant_type == JWT_BEARER:
            account, claims = self._verify_service_account(form.get("assertion", ""))
            issued = self._issue(
                claims["sub"], account.client_email, claims["scope"], account.lifetime
            )
            self._record(grant_type, client=account.client_email, sub=claims["sub"], how="rs256")
        else:
            raise GrantRefused("unsupported_grant_type")
        return {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": int(issued.expires_at - time.time() + 0.5),
        }

    def _record(self, grant_type: str, **details: Any) -> None:
        with self.lock:
            self.grants.append({"grant_type": grant_type, **details})

    def _issue(self, username: str, client: str, scope: str, lifetime: float) -> Issued:
        issued = Issued(secrets.token_urlsafe(32), username, client, scope, time.time() + lifetime)
        with self.lock:
            self.tokens[issued.token] = issued
        return issued

    def _authenticate_client(self, form: dict[str, str]) -> tuple[Client, str]:
        if form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE:
            assertion = form.get("client_assertion", "")
            client = self.clients.get(str(_unverified_claims(assertion).get("iss")))
            if client is None or client.certificate is None:
                raise GrantRefused("invalid_client", 401)
            header, claims = verify_rs256(assertion, client.certificate.public_key())  # type: ignore[arg-type]
            der = client.certificate.public_bytes(serialization.Encoding.DER)
            thumbprint = _b64url(hashlib.sha1(der).digest())
            if (
                header.get("x5t") != thumbprint
                or claims.get("sub") != client.client_id
                or claims.get("aud") != self.token_url
                or form.get("client_id", client.client_id) != client.client_id
            ):
                raise GrantRefused("invalid_client", 401)
            return client, "certificate"
        client = self.clients.get(form.get("client_id", ""))
        given = form.get("client_secret")
        if client is None or client.secret is None or given is None:
            raise GrantRefused("invalid_client", 401)
        if not secrets.compare_digest(given, client.secret):
            raise GrantRefused("invalid_client", 401)
        return client, "secret"

    def _verify_service_account(self, assertion: str) -> tuple[ServiceAccount, dict[str, Any]]:
        account = self.service_accounts.get(str(_unverified_claims(assertion).get("iss")))
        if account is None:
            raise GrantRefused("invalid_grant")
        header, claims = verify_rs256(assertion, account.public_key)
        sub = claims.get("sub")
        if (
            header.get("kid") != account.key_id
            or claims.get("aud") != self.token_url
            or claims.get("scope") != self.google_scope
            or not isinstance(sub, str)
            or not sub.endswith("@" + account.domain)
        ):
            raise GrantRefused("unauthorized_client")
        return account, claims

    def introspect(self, form: dict[str, str]) -> dict[str, Any]:
        token = form.get("token", "")
        with self.lock:
            self.introspections.append(token)
        issued = self.active(token)
        if issued is None:
            return {"active": False}
        with self.lock:
            self.accepted.append((issued.username, token))
        return {
            "active": True,
            "username": issued.username,
            "client_id": issued.client,
            "scope": issued.scope,
            "token_type": "Bearer",
            "exp": int(issued.expires_at),
        }

    # -- lifecycle

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None


def _handler(server: AuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise GrantRefused("invalid_request")
            if not self.headers.get("Content-Type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                raise GrantRefused("invalid_request")
            pairs = urllib.parse.parse_qsl(self.rfile.read(length).decode(), strict_parsing=True)
            return dict(pairs)

        def do_POST(self) -> None:
            try:
                if self.path == "/token":
                    self._reply(200, server.token_endpoint(self._form()))
                elif self.path == "/introspect":
                    expected = base64.b64encode(
                        f"{server.introspection_user}:{server.introspection_password}".encode()
                    ).decode()
                    if self.headers.get("Authorization") != f"Basic {expected}":
                        self._reply(401, {"error": "invalid_client"})
                        return
                    self._reply(200, server.introspect(self._form()))
                else:
                    self._reply(404, {"error": "not_found"})
            except GrantRefused as exc:
                self._reply(exc.status, {"error": exc.error})
            except ValueError:
                self._reply(400, {"error": "invalid_request"})

    return Handler


def start(server: AuthServer | None = None) -> AuthServer:
    """Serve ``server`` (or a new one) on a free 127.0.0.1 port in a daemon thread."""
    server = server or AuthServer()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    http.daemon_threads = True
    server.port = http.server_address[1]
    server._http = http
    threading.Thread(target=http.serve_forever, name="oauth-server", daemon=True).start()
    return server


class SessionExpiry:
    """Ends each of ``user``'s IMAP sessions on Dovecot once the token it signed in with has
    expired, as Exchange Online does (Dovecot checks a token at sign-in only).

    A session is known by its Dovecot ``Login:`` line (OAUTHBEARER or XOAUTH2; ``mpid`` is
    its imap process); its token is the one of the matching accepted introspection for the
    user (the n-th login goes with the n-th: Dovecot asks just before it signs a user in).
    An expired session's imap process gets SIGTERM: Dovecot says BYE and closes it.
    """

    def __init__(self, server: AuthServer, dovecot_log: Path, user: str) -> None:
        self._server = server
        self._log = dovecot_log
        self._user = user
        self._read = 0  # bytes of the log read so far
        self._accepted_seen = 0
        self._sessions: list[tuple[int, float]] = []  # (imap pid, token expiry)
        self.ended: list[int] = []  # pids of the sessions ended for an expired token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="session-expiry", daemon=True)

    def start(self) -> SessionExpiry:
        self._read = self._log.stat().st_size  # sessions signed in before are not ours
        with self._server.lock:
            self._accepted_seen = sum(1 for u, _ in self._server.accepted if u == self._user)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._learn()
            now = time.time()
            for pid, expires_at in list(self._sessions):
                if expires_at <= now:
                    self._sessions.remove((pid, expires_at))
                    if _is_imap_process(pid):
                        os.kill(pid, signal.SIGTERM)
                        self.ended.append(pid)

    def _learn(self) -> None:
        with self._log.open("rb") as f:
            f.seek(self._read)
            chunk = f.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._read += len(complete)
        with self._server.lock:
            tokens = [t for u, t in self._server.accepted if u == self._user]
            expiry = {t: self._server.tokens[t].expires_at for t in tokens}
        for line in complete.decode(errors="replace").splitlines():
            if "imap-login: Info: Login:" not in line or f"user=<{self._user}>" not in line:
                continue
            if "method=OAUTHBEARER" not in line and "method=XOAUTH2" not in line:
                continue
            pid = int(line.split("mpid=", 1)[1].split(",", 1)[0])
            token = tokens[self._accepted_seen]
            self._accepted_seen += 1
            self._sessions.append((pid, expiry[token]))


def _is_imap_process(pid: int) -> bool:
    """``pid`` is still a Dovecot imap process (not gone, not reused by something else)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            name = f.read().replace(b"\0", b" ").split()
        return name[:1] == [b"dovecot/imap"]
    except OSError:
        return False
