"""OAuth2 access tokens for IMAP sign-in (SASL OAUTHBEARER / XOAUTH2), from three providers.

- :class:`MicrosoftClientCredentials`: the Microsoft identity platform's client credentials
  grant (RFC 6749 4.4) with a client secret, or with a certificate: a client assertion JWT
  (RFC 7523 2.2) signed RS256 by the certificate's key, ``x5t`` its SHA-1 thumbprint.
- :class:`GoogleServiceAccount`: a service account with domain-wide delegation, the JWT bearer
  grant (RFC 7523 2.1) whose assertion, signed RS256 with the JSON key file's private key,
  names the mailbox user as ``sub``.
- :class:`TokenFile`: a token that someone else (a sidecar) keeps fresh in a file, read again
  whenever the file changes and after the server refused its token.

Tokens are cached and renewed ``refresh_margin_seconds`` before they expire (at most half
their lifetime before: :func:`renewal_time`), and once more when the server refuses one
(:meth:`TokenProvider.refresh`). A connection signed in with a token signs in again with a
newer one at that same time (:class:`RenewalPlan` says when; the IMAP adapter does it): a
server may end a session whose token expired. A token, a client secret, a private key or an
assertion is never in a repr, an exception text or a log line: every message here is written
by this module, and the token endpoint's answer is reduced to its registered ``error`` code.

HTTP runs on the standard library in a worker thread (``asyncio.to_thread``), under a
deadline, with the answer's size bounded and redirects not followed.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import math
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bounce_stream.settings import GOOGLE_SCOPE, MICROSOFT_SCOPE, AuthSettings, read_small_text

MAX_RESPONSE_BYTES = 64 * 1024  # a token response is a few kB
MAX_TOKEN_FILE_BYTES = 64 * 1024
MAX_TOKEN_CHARS = 16 * 1024
ASSERTION_SECONDS = 600  # lifetime of a client assertion (Microsoft caps it at 10 minutes)
GOOGLE_ASSERTION_SECONDS = 3600  # Google's maximum
DEFAULT_LIFETIME = 3600.0  # a token response without expires_in (RFC 6749 5.1: RECOMMENDED)
# A connection is signed in again at most this often while tokens come already near their
# expiry (the gap doubles up to MAX_RENEWAL_GAP while that goes on): never a busy loop.
MIN_RENEWAL_GAP = 1.0
MAX_RENEWAL_GAP = 300.0
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# RFC 6749 5.2: error codes are %x20-21 / %x23-5B / %x5D-7E; we keep the usual word shape.
_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")
# RFC 6750 b64token: the characters a bearer token may hold.
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


class TokenError(Exception):
    """No token could be had. ``auth``: the provider refused the credentials (or they cannot
    be used); ``connect``: the endpoint could not be reached or answered badly. The text is
    this module's own: never a token, a secret or the endpoint's free text."""

    def __init__(self, message: str, reason: str = "auth") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token, when it expires (unix seconds; ``inf`` when unknown) and when it was
    asked for (its lifetime, with ``expires_at``)."""

    value: str = field(repr=False)
    expires_at: float = math.inf
    obtained_at: float = 0.0

    def __repr__(self) -> str:
        return f"AccessToken(expires_at={self.expires_at!r})"

    def __str__(self) -> str:
        return repr(self)


def renewal_time(token: AccessToken, margin_seconds: float) -> float:
    """When ``token`` is to be replaced: ``margin_seconds`` before it expires, but never
    earlier than half its lifetime (a short-lived token is not renewed at once)."""
    lifetime = token.expires_at - token.obtained_at
    return token.expires_at - min(margin_seconds, lifetime / 2)


class RenewalPlan:
    """When one connection signs in again with a newer token (pure: the time is passed in).

    After a sign-in the plan is the token's :func:`renewal_time`. A token that is due (nearly)
    at once, or a source that has no newer token when one is due, holds the next attempt
    back by a gap of ``min_gap`` seconds that doubles up to ``max_gap`` while it goes on, and
    is back to ``min_gap`` after a token with time to spare.
    """

    def __init__(self, min_gap: float = MIN_RENEWAL_GAP, max_gap: float = MAX_RENEWAL_GAP) -> None:
        self.due = math.inf
        self._min_gap = min_gap
        self._max_gap = max_gap
        self._gap = min_gap
        self.held_back = False  # the last plan was a gap, not a token's renewal time

    def signed_in(self, now: float, renew_at: float) -> bool:
        """Plan after signing in with a token due for renewal at ``renew_at``.

        True when this starts a run of held-back attempts (worth one log line).
        """
        if renew_at - now >= self._min_gap:
            self.due = renew_at
            self._gap = self._min_gap
            self.held_back = False
            return False
        return self.hold_back(now)

    def hold_back(self, now: float) -> bool:
        """No newer token now (or it could not be had): try again after the gap.

        True when this starts a run of held-back attempts.
        """
        first = not self.held_back
        self.due = now + self._gap
        self._gap = min(self._gap * 2, self._max_gap)
        self.held_back = True
        return first

    def is_due(self, now: float) -> bool:
        return now >= self.due

    def seconds_left(self, now: float) -> float:
        """Seconds until due (0 when due; ``inf`` when never)."""
        return max(0.0, self.due - now)

    def clear(self) -> None:
        """Nothing to renew (signed out, or signed in with a password)."""
        self.due = math.inf
        self._gap = self._min_gap
        self.held_back = False


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(claims: dict[str, Any], key: rsa.RSAPrivateKey, header: dict[str, Any]) -> str:
    """A compact JWS (RFC 7515) of ``claims``, RS256 (RSASSA-PKCS1-v1_5 with SHA-256)."""
    head = {"alg": "RS256", "typ": "JWT", **header}
    signing_input = (
        b64url(json.dumps(head, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def load_rsa_key(pem: str, what: str) -> rsa.RSAPrivateKey:
    """An unencrypted RSA private key from PEM; the error names ``what``, never the bytes."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise TokenError(f"{what} is not a readable unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TokenError(f"{what} is not an RSA key (RS256 needs one)")
    return key


def _validate_token(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TOKEN_CHARS:
        raise TokenError(f"{where} holds no usable access_token", "connect")
    if not _B64TOKEN.match(value):
        raise TokenError(f"{where}: the access token has characters a bearer token cannot")
    return value


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A token endpoint answers; it does not send the client's secret elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _post_form_sync(
    url: str, fields: dict[str, str], timeout: float, context: ssl.SSLContext
) -> tuple[int, bytes]:
    body = urllib.parse.urlencode(fields).encode("ascii")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked by the settings
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(MAX_RESPONSE_BYTES + 1)


class TokenProvider(ABC):
    """A cached access token, fetched again before it expires or once it was refused."""

    def __init__(self, margin_seconds: float) -> None:
        self._margin = margin_seconds
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0  # tokens obtained from the source (for logs and tests)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _fresh(self, token: AccessToken | None, now: float) -> bool:
        return token is not None and now < self.renew_at(token)

    def renew_at(self, token: AccessToken) -> float:
        """When ``token`` is to be replaced (``inf`` when its expiry is unknown)."""
        return renewal_time(token, self._margin)

    async def token(self) -> AccessToken:
        """The cached token, or a new one when it is missing or about to expire."""
        async with self._lock:
            if not self._fresh(self._token, time.time()):
                await self._renew()
            assert self._token is not None
            return self._token

    async def refresh(self, refused: AccessToken) -> AccessToken:
        """A token other than ``refused`` if one can be had (the server refused that one).

        When another connection already replaced it, that newer token is returned as is.
        """
        async with self._lock:
            if self._token is None or self._token.value == refused.value:
                await self._renew()
            assert self._token is not None
            return self._token

    async def _renew(self) -> None:
        started = time.time()
        self._token = dataclasses.replace(await self._fetch(), obtained_at=started)
        self.fetches += 1

    @abstractmethod
    async def _fetch(self) -> AccessToken:
        """Get a token from the source."""


class _EndpointProvider(TokenProvider):
    """A provider that POSTs a grant to an OAuth2 token endpoint (RFC 6749 3.2)."""

    def __init__(self, endpoint: str, margin_seconds: float, timeout: float) -> None:
        super().__init__(margin_seconds)
        self.endpoint = endpoint
        self._timeout = timeout
        self._host = urllib.parse.urlsplit(endpoint).hostname or "?"
        self._context = ssl.create_default_context()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r})"

    async def _post(self, fields: dict[str, str]) -> AccessToken:
        where = f"token endpoint {self._host}"
        try:
            status, body = await asyncio.wait_for(
                asyncio.to_thread(
                    _post_form_sync, self.endpoint, fields, self._timeout, self._context
                ),
                self._timeout + 1,
            )
        except TimeoutError:
            raise TokenError(f"{where}: no answer in {self._timeout:g} s", "connect") from None
        except (OSError, ValueError) as exc:  # URLError is an OSError
            detail = _network_detail(getattr(exc, "reason", None) or exc)
            raise TokenError(f"{where}: unreachable ({detail})", "connect") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise TokenError(f"{where}: answer over {MAX_RESPONSE_BYTES} bytes", "connect")
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TokenError(f"{where}: HTTP {status} without a JSON object", "connect")
        if status != 200:
            raise TokenError(
                f"{where} refused the grant: HTTP {status}{_error_of(data)}", _kind(status)
            )
        token_type = data.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenError(f"{where}: token_type is not Bearer", "connect")
        value = _validate_token(data.get("access_token"), where)
        expires_in = data.get("expires_in", DEFAULT_LIFETIME)
        if isinstance(expires_in, str) and expires_in.isdigit():
            expires_in = int(expires_in)  # some servers send it as a string
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise TokenError(f"{where}: expires_in is not a number", "connect")
        lifetime = min(max(float(expires_in), 0.0), 10 * 365 * 86400.0)
        return AccessToken(value, time.time() + lifetime)


def _network_detail(cause: object) -> str:
    """What went wrong on the way to the endpoint, from the socket or TLS layer only (the
    request, which holds the secret, is never part of these)."""
    if isinstance(cause, ssl.SSLError):
        return f"TLS {cause.reason or type(cause).__name__}"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    if isinstance(cause, str):
        return cause[:120]
    return type(cause).__name__


def _kind(status: int) -> str:
    # 400/401 with invalid_client, invalid_grant, unauthorized_client: the credentials; a 5xx
    # or 429 is the endpoint's trouble.
    return "auth" if 400 <= status < 500 and status != 429 else "connect"


def _error_of(data: dict[str, Any]) -> str:
    """The registered ``error`` code and Microsoft's numeric ``error_codes``; no free text."""
    parts = []
    code = data.get("error")
    if isinstance(code, str) and _ERROR_CODE.match(code):
        parts.append(code)
    numbers = data.get("error_codes")
    if isinstance(numbers, list):
        parts.extend(
            f"AADSTS{n}" for n in numbers[:3] if isinstance(n, int) and not isinstance(n, bool)
        )
    return f" ({', '.join(parts)})" if parts else ""


class MicrosoftClientCredentials(_EndpointProvider):
    """Microsoft identity platform, client credentials grant, app-only access to mailboxes."""

    def __init__(self, auth: AuthSettings) -> None:
        assert auth.tenant and auth.client_id  # guaranteed by the settings
        endpoint = auth.token_endpoint or (f"{MICROSOFT_AUTHORITY}/{auth.tenant}/oauth2/v2.0/token")
        super().__init__(endpoint, auth.refresh_margin_seconds, auth.token_timeout_seconds)
        self.client_id = auth.client_id
        self.scope = auth.scope or MICROSOFT_SCOPE
        self._secret = auth.client_secret
        self._key_pem = auth.private_key_pem
        self._cert_pem = auth.certificate_pem
        self._key: rsa.RSAPrivateKey | None = None
        self._thumbprint = ""

    def _assertion(self) -> str:
        """The client assertion JWT for certificate credentials (RS256, ``x5t``)."""
        if self._key is None:
            assert self._key_pem is not None and self._cert_pem is not None
            try:
                cert = x509.load_pem_x509_certificate(self._cert_pem.encode())
            except ValueError:
                raise TokenError("certificate_file is not a readable PEM certificate") from None
            # x5t is the SHA-1 thumbprint by definition (RFC 7515 4.1.7).
            der = cert.public_bytes(serialization.Encoding.DER)
            self._thumbprint = b64url(hashlib.sha1(der, usedforsecurity=False).digest())
            self._key = load_rsa_key(self._key_pem, "the certificate's private key")
        now = int(time.time())
        claims = {
            "aud": self.endpoint,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": str(uuid.uuid4()),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
        }
        return sign_jwt(claims, self._key, {"x5t": self._thumbprint})

    async def _fetch(self) -> AccessToken:
        fields = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "scope": self.scope,
        }
        if self._secret is not None:
            fields["client_secret"] = self._secret.get_secret_value()
        else:
            fields["client_assertion_type"] = CLIENT_ASSERTION_TYPE
            fields["client_assertion"] = self._assertion()
        return await self._post(fields)


class GoogleServiceAccount(_EndpointProvider):
    """Google service account with domain-wide delegation: a token to act as ``user``."""

    def __init__(self, auth: AuthSettings, user: str) -> None:
        key = auth.service_account
        super().__init__(
            auth.token_endpoint or key["token_uri"],
            auth.refresh_margin_seconds,
            auth.token_timeout_seconds,
        )
        self.client_email: str = key["client_email"]
        self.user = user
        self.scope = auth.scope or GOOGLE_SCOPE
        self._key_id = (
            key.get("private_key_id") if isinstance(key.get("private_key_id"), str) else None
        )
        self._key_pem: str = key["private_key"]
        self._key: rsa.RSAPrivateKey | None = None

    def _assertion(self) -> str:
        if self._key is None:
            self._key = load_rsa_key(self._key_pem, "service_account_file's private_key")
        now = int(time.time())
        claims = {
            "iss": self.client_email,
            "sub": self.user,
            "scope": self.scope,
            "aud": self.endpoint,
            "iat": now,
            "exp": now + GOOGLE_ASSERTION_SECONDS,
        }
        return sign_jwt(claims, self._key, {"kid": self._key_id} if self._key_id else {})

    async def _fetch(self) -> AccessToken:
        return await self._post({"grant_type": JWT_BEARER, "assertion": self._assertion()})


class TokenFile(TokenProvider):
    """A token kept fresh by someone else, read from ``path`` when the file changed."""

    def __init__(self, auth: AuthSettings) -> None:
        super().__init__(auth.refresh_margin_seconds)
        assert auth.token_file is not None
        self.path: Path = auth.token_file
        self._stamp: tuple[int, int, int] | None = None

    def __repr__(self) -> str:
        return f"TokenFile(path={str(self.path)!r})"

    def _current_stamp(self) -> tuple[int, int, int]:
        try:
            st = self.path.stat()
        except OSError as exc:
            raise TokenError(f"token_file cannot be read: {exc.strerror}", "auth") from None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _fresh(self, token: AccessToken | None, now: float) -> bool:
        # A changed file is read again even when the token it held is still valid.
        return token is not None and self._stamp == self._current_stamp()

    async def _fetch(self) -> AccessToken:
        return await asyncio.to_thread(self._read)

    def _read(self) -> AccessToken:
        stamp = self._current_stamp()
        try:
            text = read_small_text(self.path, "token_file", MAX_TOKEN_FILE_BYTES).strip()
        except ValueError as exc:
            raise TokenError(str(exc)) from None
        expires_at = math.inf
        if text.startswith("{"):
            try:
                doc = json.loads(text)
            except ValueError:
                raise TokenError("token_file starts with '{' but is not JSON") from None
            if not isinstance(doc, dict):
                raise TokenError("token_file is not a JSON object")
            value = doc.get("access_token")
            raw_expiry = doc.get("expires_at")
            if raw_expiry is not None:
                if isinstance(raw_expiry, bool) or not isinstance(raw_expiry, int | float):
                    raise TokenError("token_file: expires_at is not a number (unix seconds)")
                expires_at = float(raw_expiry)
        else:
            value = text
        token = AccessToken(_validate_token(value, "token_file"), expires_at)
        self._stamp = stamp
        return token


def token_provider(auth: AuthSettings, user: str) -> TokenProvider:
    """The provider ``auth`` configures, for the mailbox user ``user``."""
    if auth.provider == "microsoft":
        return MicrosoftClientCredentials(auth)
    if auth.provider == "google":
        return GoogleServiceAccount(auth, user)
    if auth.provider == "token_file":
        return TokenFile(auth)
    raise ValueError(f"auth.provider {auth.provider!r} has no token provider")


# -- SASL (RFC 7628 OAUTHBEARER, Google/Microsoft XOAUTH2) ------------------------------------


def oauthbearer_response(user: str, host: str, port: int, token: str) -> bytes:
    """OAUTHBEARER's initial client response (RFC 7628 3.1), before base64."""
    # gs2 header: no channel binding, authzid = the user (',' and '=' escaped, RFC 5801).
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()


def xoauth2_response(user: str, token: str) -> bytes:
    """XOAUTH2's initial client response, before base64."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


# After the server's error challenge the client sends this, then gets the failure.
OAUTHBEARER_DUMMY = b"\x01"  # RFC 7628 3.2.3: a single %x01
XOAUTH2_DUMMY = b""  # Google's and Microsoft's XOAUTH2: an empty response


def error_status(challenge: bytes) -> str | None:
    """The ``status`` of a server's error challenge (base64 JSON, RFC 7628 3.2.2), if any.

    Only a short word comes back (e.g. ``invalid_token``): the challenge is the server's
    text and must not reach a log whole.
    """
    if len(challenge) > 8192:
        return None
    try:
        doc = json.loads(base64.b64decode(challenge, validate=True))
    except (ValueError, TypeError):
        return None
    status = doc.get("status") if isinstance(doc, dict) else None
    if isinstance(status, str) and re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", status):
        return status
    return None
