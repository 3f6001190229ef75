"""Configuration: a YAML file, then environment overrides, validated into frozen typed settings.

Environment overrides use ``BOUNCE_STREAM__`` plus the key path joined by ``__``, with list
items by index: ``BOUNCE_STREAM__KAFKA__BOOTSTRAP_SERVERS``,
``BOUNCE_STREAM__MAILBOXES__0__PASSWORD``. Every secret can also come from a file
(``password_file``) or a named environment variable (``password_env``).
"""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bounce_stream.detection import DEFAULT_TRACKING_HEADER, ParseOptions
from bounce_stream.detection.model import MAX_EXTRACT_HEADERS, MAX_HEADER_NAME_CHARS, is_header_name

ENV_PREFIX = "BOUNCE_STREAM__"
MiB = 1024 * 1024


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(Exception):
    """Invalid configuration. The message names the key and never contains a secret."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _read_secret(
    value: SecretStr | None, file: Path | None, env: str | None, key: str
) -> SecretStr | None:
    given = [v for v in (value, file, env) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give only one of {key}, {key}_file, {key}_env")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ValueError(f"{key}_file cannot be read: {exc.strerror}") from None
        except UnicodeDecodeError:
            # Neither the bytes nor their position: they are (part of) the secret.
            raise ValueError(f"{key}_file is not UTF-8 text") from None
        if not text:
            raise ValueError(f"{key}_file is empty")
        return SecretStr(text)
    if env is not None:
        if env not in os.environ:
            # Name the variable only when it looks like one: never echo a misplaced secret.
            shown = repr(env) if _ENV_NAME.match(env) else "(name not shown)"
            raise ValueError(f"{key}_env names environment variable {shown}, which is not set")
        return SecretStr(os.environ[env])
    return value


Housekeeping = Literal["none", "seen", "move", "delete"]
# implicit: TLS from the first byte (993); starttls: plain connect, then STARTTLS before
# anything else, refused if the server does not offer it (143); none: plain IMAP (tests).
TlsMode = Literal["implicit", "starttls", "none"]
_TLS_TRUE = {"true", "1", "yes", "on", "y", "t"}
_TLS_FALSE = {"false", "0", "no", "off", "n", "f"}


AuthMethod = Literal["login", "oauth2"]
OAuth2Provider = Literal["microsoft", "google", "token_file"]
# auto: OAUTHBEARER (RFC 7628) when the server offers it, else XOAUTH2.
OAuth2Mechanism = Literal["auto", "oauthbearer", "xoauth2"]
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"
MAX_KEY_FILE_BYTES = 64 * 1024
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
_PROVIDER_FIELDS: dict[str, tuple[str, ...]] = {
    "microsoft": (
        "tenant",
        "client_id",
        "client_secret",
        "client_secret_file",
        "client_secret_env",
        "certificate_file",
        "private_key_file",
    ),
    "google": ("service_account_file",),
    "token_file": ("token_file",),
}
# Settings of the token endpoint providers, meaningless for a token file.
_ENDPOINT_FIELDS = ("token_endpoint", "scope", "token_timeout_seconds")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: traffic that never leaves the machine."""
    return host.lower() in _LOOPBACK_HOSTS or host.startswith("127.")


def _url_parts(v: str) -> tuple[urllib.parse.SplitResult, str | None]:
    """The URL's parts and host; the error never echoes the URL (it may carry a secret)."""
    try:
        parts = urllib.parse.urlsplit(v)
        return parts, parts.hostname
    except ValueError:
        raise ValueError("is not a valid URL") from None


def _token_endpoint_url(v: str | None) -> str | None:
    """An https URL (http only to a loopback host, for tests), without credentials or query."""
    if v is None:
        return v
    parts, host = _url_parts(v)
    if not host or parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an https:// URL with a host")
    if parts.scheme.lower() == "http" and not is_loopback(host):
        raise ValueError("must be https:// (http:// is accepted for a loopback host only)")
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise ValueError("must not carry credentials, a query string or a fragment")
    return v


def read_small_text(path: Path, what: str, limit: int = MAX_KEY_FILE_BYTES) -> str:
    """A small UTF-8 secret file (PEM key, JSON key, token): ValueError naming ``what``, and
    never quoting the file's bytes, when it cannot be read, is over ``limit`` or is not UTF-8."""
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise ValueError(f"{what} cannot be read: {exc.strerror}") from None
    if len(data) > limit:
        raise ValueError(f"{what} is larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{what} is not UTF-8 text") from None


class AuthSettings(_Strict):
    """How a mailbox signs in: ``login`` (LOGIN with ``password``) or ``oauth2`` (SASL
    OAUTHBEARER / XOAUTH2 with an access token from ``provider``)."""

    method: AuthMethod = "login"
    provider: OAuth2Provider | None = None
    mechanism: OAuth2Mechanism = "auto"
    # microsoft: the identity platform's client credentials grant (secret or certificate).
    tenant: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$")] | None = None
    client_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    client_secret: SecretStr | None = None
    client_secret_file: Path | None = None
    client_secret_env: str | None = None
    # PEM certificate registered with the app; the key beside it in the same file, or in
    # private_key_file.
    certificate_file: Path | None = None
    private_key_file: Path | None = None
    # google: the service account's JSON key file (domain-wide delegation to the mailbox).
    service_account_file: Path | None = None
    # token_file: an access token kept fresh by someone else (a sidecar); plain text, or JSON
    # {"access_token": ..., "expires_at": <unix seconds>}.
    token_file: Path | None = None
    # Overrides: the provider's token endpoint (Google: the key file's token_uri) and scope.
    token_endpoint: str | None = None
    scope: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    # A token is renewed this long before it expires (at most half its lifetime before).
    refresh_margin_seconds: Annotated[float, Field(ge=0, le=3600)] = 300.0
    # One token request, connection to last byte.
    token_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0

    _private_key_pem: SecretStr | None = PrivateAttr(default=None)
    _certificate_pem: str | None = PrivateAttr(default=None)
    _service_account: SecretStr | None = PrivateAttr(default=None)

    @field_validator("token_endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        return _token_endpoint_url(v)

    @model_validator(mode="after")
    def _resolve(self) -> AuthSettings:
        given = {name for name in self.model_fields_set if getattr(self, name) is not None}
        if self.method == "login":
            extra = sorted(given - {"method"})
            if extra:
                raise ValueError(f"{', '.join(extra)} apply only with method: oauth2")
            return self
        if self.provider is None:
            raise ValueError("method oauth2 needs provider (microsoft, google or token_file)")
        foreign = sorted(
            name
            for provider, names in _PROVIDER_FIELDS.items()
            if provider != self.provider
            for name in names
            if name in given
        )
        if self.provider == "token_file":
            foreign += [name for name in _ENDPOINT_FIELDS if name in given]
        if foreign:
            raise ValueError(f"{', '.join(foreign)} do not apply to provider {self.provider}")
        if self.provider == "microsoft":
            self._resolve_microsoft()
        elif self.provider == "google":
            self._resolve_google()
        elif self.token_file is None:
            raise ValueError("provider token_file needs token_file (the path to read)")
        return self

    def _resolve_microsoft(self) -> None:
        if not self.tenant:
            raise ValueError("provider microsoft needs tenant (directory id or domain)")
        if not self.client_id:
            raise ValueError("provider microsoft needs client_id")
        secret = _read_secret(
            self.client_secret, self.client_secret_file, self.client_secret_env, "client_secret"
        )
        object.__setattr__(self, "client_secret", secret)
        if secret is not None and self.certificate_file is not None:
            raise ValueError("give client_secret or certificate_file, not both")
        if self.private_key_file is not None and self.certificate_file is None:
            raise ValueError("private_key_file needs certificate_file (the certificate)")
        if self.certificate_file is not None:
            cert = read_small_text(self.certificate_file, "certificate_file")
            if "-----BEGIN CERTIFICATE-----" not in cert:
                raise ValueError("certificate_file holds no PEM certificate")
            key_path, key_name = (
                (self.private_key_file, "private_key_file")
                if self.private_key_file is not None
                else (self.certificate_file, "certificate_file")
            )
            key = cert if self.private_key_file is None else read_small_text(key_path, key_name)
            if not re.search(r"-----BEGIN (RSA )?PRIVATE KEY-----", key):
                raise ValueError(f"{key_name} holds no unencrypted PEM private key")
            self._certificate_pem = cert
            self._private_key_pem = SecretStr(key)
        elif secret is None:
            raise ValueError(
                "provider microsoft needs client_secret (client_secret, client_secret_file "
                "or client_secret_env) or certificate_file"
            )

    def _resolve_google(self) -> None:
        if self.service_account_file is None:
            raise ValueError("provider google needs service_account_file (the JSON key)")
        text = read_small_text(self.service_account_file, "service_account_file")
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError("service_account_file is not JSON") from None
        if not isinstance(data, dict) or data.get("type") != "service_account":
            raise ValueError('service_account_file is not a key of "type": "service_account"')
        for name in ("client_email", "private_key", "token_uri"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise ValueError(f"service_account_file has no {name}")
        if "PRIVATE KEY-----" not in data["private_key"]:
            raise ValueError("service_account_file: private_key is not a PEM private key")
        if self.token_endpoint is None:
            try:
                _token_endpoint_url(data["token_uri"])
            except ValueError as exc:
                raise ValueError(f"service_account_file: token_uri {exc}") from None
        self._service_account = SecretStr(text)

    @property
    def private_key_pem(self) -> str | None:
        """The certificate's private key (provider microsoft with certificate_file)."""
        return None if self._private_key_pem is None else self._private_key_pem.get_secret_value()

    @property
    def certificate_pem(self) -> str | None:
        return self._certificate_pem

    @property
    def service_account(self) -> dict[str, Any]:
        """The parsed JSON key (provider google); empty otherwise."""
        if self._service_account is None:
            return {}
        data: dict[str, Any] = json.loads(self._service_account.get_secret_value())
        return data

    @property
    def summary(self) -> str:
        """What ``config check`` prints: the method and provider, never a secret."""
        if self.method == "login":
            return "LOGIN"
        how = ""
        if self.provider == "microsoft":
            how = ", certificate" if self.certificate_file is not None else ", client secret"
        return f"OAuth2 ({self.provider}{how}, mechanism {self.mechanism})"


class MailboxSettings(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 993
    username: str
    password: SecretStr | None = None
    password_file: Path | None = None
    password_env: str | None = None
    auth: AuthSettings = AuthSettings()
    tls: TlsMode = "implicit"  # true/false (older configs) read as implicit/none
    tls_verify: bool = True
    ca_file: Path | None = None
    folder: str = "INBOX"
    batch_max_messages: Annotated[int, Field(ge=1, le=10_000)] = 200
    batch_max_bytes: Annotated[int, Field(ge=64 * 1024)] = 16 * MiB
    max_message_bytes: Annotated[int, Field(ge=1024)] = 25 * MiB
    idle: bool = True
    idle_timeout_seconds: Annotated[float, Field(gt=0, le=29 * 60)] = 300.0
    poll_interval_seconds: Annotated[float, Field(gt=0)] = 30.0
    reconnect_initial_seconds: Annotated[float, Field(gt=0)] = 1.0
    reconnect_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    housekeeping: Housekeeping = "none"
    move_to: str | None = None
    # With housekeeping seen/move/delete, messages that are not bounces are moved here;
    # unset, they are left untouched. They are never flagged or deleted.
    not_bounce_folder: Annotated[str, Field(min_length=1)] | None = None

    @field_validator("tls", mode="before")
    @classmethod
    def _tls_mode(cls, v: Any) -> Any:
        """Booleans (and their spellings from environment overrides) as the older config
        meant them: true is implicit TLS, false is plain."""
        if isinstance(v, bool):
            return "implicit" if v else "none"
        if isinstance(v, str):
            word = v.strip().lower()
            if word in _TLS_TRUE:
                return "implicit"
            if word in _TLS_FALSE:
                return "none"
            return word
        return v

    @model_validator(mode="after")
    def _resolve(self) -> MailboxSettings:
        secret = _read_secret(self.password, self.password_file, self.password_env, "password")
        if self.auth.method == "login":
            if secret is None:
                raise ValueError("password is required (password, password_file or password_env)")
        elif secret is not None:
            raise ValueError("auth.method oauth2 signs in with a token: remove password")
        elif self.tls == "none" and not is_loopback(self.host):
            raise ValueError(
                "auth.method oauth2 sends a bearer token: tls none is allowed only to a "
                "loopback host (tests); use tls implicit or starttls"
            )
        object.__setattr__(self, "password", secret)
        if self.housekeeping == "move" and not self.move_to:
            raise ValueError("housekeeping: move needs move_to (the target folder)")
        if self.not_bounce_folder and self.housekeeping == "none":
            raise ValueError(
                "not_bounce_folder applies only with housekeeping seen, move or delete"
            )
        if self.not_bounce_folder and self.not_bounce_folder in (self.folder, self.move_to):
            raise ValueError("not_bounce_folder must differ from folder and move_to")
        return self

    @property
    def mailbox_id(self) -> str:
        """Stable, password-free identity: ``imap://user@host:port/FOLDER``."""
        return f"imap://{self.username}@{self.host}:{self.port}/{self.folder}"

    @property
    def secret(self) -> str:
        """The LOGIN password; empty with auth.method oauth2 (there is none)."""
        return "" if self.password is None else self.password.get_secret_value()

    @property
    def secrets(self) -> list[str]:
        """Every configured secret of this mailbox that can be written as text (to scrub)."""
        found = [self.secret]
        if self.auth.client_secret is not None:
            found.append(self.auth.client_secret.get_secret_value())
        return [s for s in found if s]


class KafkaSettings(_Strict):
    bootstrap_servers: str = "127.0.0.1:9092"
    events_topic: str = "bounce-stream.events"
    checkpoint_topic: str = "bounce-stream.checkpoints"
    dead_letter_topic: str = "bounce-stream.dead-letter"
    # Optional raw archive (`bounce-stream reprocess --from-archive` reads it): every fetched
    # message that gave events or a dead letter, gzip-compressed, keyed by its fingerprint,
    # in the same transaction as its events. Unset: no archive.
    archive_topic: Annotated[str, Field(min_length=1)] | None = None
    # A message longer than this is archived truncated (header truncated: true).
    archive_max_bytes: Annotated[int, Field(ge=1024, le=8 * MiB)] = 1 * MiB
    # Also archive messages that are not bounces (a human's mail; off: they stay private).
    archive_not_bounces: bool = False
    # Retention of the archive topic when the service creates it (compact,delete); None keeps
    # one copy per fingerprint forever (compact only).
    archive_retention_days: Annotated[float, Field(gt=0)] | None = 90.0
    create_topics: bool = True
    topic_partitions: Annotated[int, Field(ge=1)] = 3
    replication_factor: Annotated[int, Field(ge=1)] = 1
    transactional_id_prefix: str = "bounce-stream"
    transaction_timeout_ms: Annotated[int, Field(ge=1000)] = 60_000
    request_timeout_ms: Annotated[int, Field(ge=1000)] = 30_000
    # A transaction (begin, sends, commit) still unfinished after this long is given up:
    # logged, counted, /readyz 503, and the producer rebuilt (its outcome is read back).
    transaction_deadline_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0
    # Each standby round reads the checkpoint partition: at least a second between them.
    fenced_backoff_seconds: Annotated[float, Field(ge=1)] = 300.0
    checkpoint_heartbeat_seconds: Annotated[float, Field(gt=0)] = 60.0
    retry_initial_seconds: Annotated[float, Field(gt=0)] = 1.0
    retry_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = None
    sasl_password_env: str | None = None
    ssl_cafile: Path | None = None

    @model_validator(mode="after")
    def _resolve(self) -> KafkaSettings:
        secret = _read_secret(
            self.sasl_password, self.sasl_password_file, self.sasl_password_env, "sasl_password"
        )
        object.__setattr__(self, "sasl_password", secret)
        if self.security_protocol.startswith("SASL") and (
            not self.sasl_mechanism or not self.sasl_username or secret is None
        ):
            raise ValueError("SASL needs sasl_mechanism, sasl_username and sasl_password")
        return self


class SchemaRegistrySettings(_Strict):
    url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    password_env: str | None = None
    ca_file: Path | None = None
    timeout_seconds: Annotated[float, Field(gt=0)] = 10.0

    @field_validator("url")
    @classmethod
    def _plain_http_url(cls, v: str | None) -> str | None:
        # The messages never echo the URL: it may carry a password or a token.
        if v is None:
            return v
        parts, host = _url_parts(v)
        if parts.scheme.lower() not in ("http", "https") or not host:
            raise ValueError("must be an http:// or https:// URL with a host")
        if "@" in parts.netloc:
            raise ValueError("put registry credentials in username/password, not in the URL")
        if parts.query or parts.fragment or "?" in v or "#" in v:
            raise ValueError(
                "must not carry a query string or fragment (a token belongs in password)"
            )
        return v

    @model_validator(mode="after")
    def _resolve(self) -> SchemaRegistrySettings:
        secret = _read_secret(self.password, self.password_file, self.password_env, "password")
        object.__setattr__(self, "password", secret)
        return self


def _default_classify_workers() -> int:
    """Two worker processes, or one on a single-CPU machine."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return min(2, len(usable) if usable else os.cpu_count() or 1)


class DetectionSettings(_Strict):
    tracking_header: str = DEFAULT_TRACKING_HEADER
    verp_separator: str | None = None
    # Classification runs in this many worker processes, shared by every mailbox.
    workers: Annotated[int, Field(ge=1, le=64)] = Field(default_factory=_default_classify_workers)
    # A message not classified within this time is dead-lettered (cause "timeout") and its
    # worker process killed and replaced.
    timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 10.0


class CorrelationSettings(_Strict):
    # Header fields of the returned original published in each event's extracted_headers
    # (e.g. X-Campaign-ID, Feedback-ID, List-Id); the tracking header is detection's.
    extract_headers: Annotated[list[str], Field(max_length=MAX_EXTRACT_HEADERS)] = Field(
        default_factory=list
    )

    @field_validator("extract_headers")
    @classmethod
    def _header_names(cls, v: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in v:
            if not is_header_name(name):
                raise ValueError(
                    f"{name[:80]!r} is not a header field name (printable ASCII without ':', "
                    f"at most {MAX_HEADER_NAME_CHARS} characters)"
                )
            if name.lower() in seen:
                raise ValueError(f"{name!r} is listed twice")
            seen.add(name.lower())
        return v


class DeadLetterSettings(_Strict):
    max_raw_bytes: Annotated[int, Field(ge=0, le=8 * MiB)] = 512 * 1024


class MetricsSettings(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9108
    enabled: bool = True


class LoggingSettings(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"


class SuppressionSettings(_Strict):
    """`bounce-stream suppress`: topics, consumer group and the declared policy."""

    recipients_topic: str = "bounce-stream.recipients"
    suppressions_topic: str = "bounce-stream.suppressions"
    # Instances with the same group share the events topic's partitions.
    group_id: str = "bounce-stream-suppress"
    soft_threshold: Annotated[int, Field(ge=1, le=64)] = 3
    soft_window_days: Annotated[float, Field(gt=0, le=366)] = 7.0
    suppress_on_hard: bool = True
    suppress_on_complaint: bool = True
    release_on_delivered: bool = True
    # Records of one events partition handled in one transaction, at most.
    batch_max_records: Annotated[int, Field(ge=1, le=100_000)] = 1000
    # The group's failure detection: a member silent this long (killed, partitioned) loses
    # its partitions to the others. Heartbeats go every min(3 s, a third of it); the broker
    # accepts group.min.session.timeout.ms..group.max.session.timeout.ms (6 s..30 min by
    # default). When set, it must stay below kafka.request_timeout_ms (a JoinGroup waits up
    # to it).
    session_timeout_ms: Annotated[int, Field(ge=3000, le=1_800_000)] = 10_000

    @property
    def heartbeat_interval_ms(self) -> int:
        """aiokafka's 3 s, or a third of the session timeout when that is shorter."""
        return min(3000, self.session_timeout_ms // 3)


class Settings(_Strict):
    kafka: KafkaSettings = KafkaSettings()
    schema_registry: SchemaRegistrySettings = SchemaRegistrySettings()
    mailboxes: list[MailboxSettings] = Field(default_factory=list)
    detection: DetectionSettings = DetectionSettings()
    correlation: CorrelationSettings = CorrelationSettings()
    dead_letter: DeadLetterSettings = DeadLetterSettings()
    metrics: MetricsSettings = MetricsSettings()
    logging: LoggingSettings = LoggingSettings()
    suppression: SuppressionSettings = SuppressionSettings()
    shutdown_grace_seconds: Annotated[float, Field(ge=0)] = 15.0
    # Who writes the checkpoints; a fenced instance stands by while another one is alive.
    instance: str = Field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def parse_options(self) -> ParseOptions:
        """What detection is told about the operator's own mail (`run` and `reprocess` alike)."""
        return ParseOptions(
            tracking_header=self.detection.tracking_header,
            verp_separator=self.detection.verp_separator,
            extract_headers=tuple(self.correlation.extract_headers),
        )

    @model_validator(mode="after")
    def _session_below_request_timeout(self) -> Settings:
        # Checked only when set: the default must not make configs of other commands (which
        # may shorten kafka.request_timeout_ms) invalid.
        session = self.suppression.session_timeout_ms
        given = "session_timeout_ms" in self.suppression.model_fields_set
        if given and session >= self.kafka.request_timeout_ms:
            raise ValueError(
                f"suppression.session_timeout_ms ({session}) must be below "
                f"kafka.request_timeout_ms ({self.kafka.request_timeout_ms}): a JoinGroup "
                "request waits up to the session timeout"
            )
        return self

    @model_validator(mode="after")
    def _unique_mailboxes(self) -> Settings:
        seen: set[str] = set()
        for mb in self.mailboxes:
            for ident in (mb.name, mb.mailbox_id):
                if ident in seen:
                    raise ValueError(f"mailbox {ident!r} is configured twice")
                seen.add(ident)
        return self


def _env_order(item: tuple[str, str]) -> list[tuple[int, int, str]]:
    # List indexes in numeric order, so item 2 exists before item 10 is reached.
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in item[0].split("__")]


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    for key, value in sorted(environ.items(), key=_env_order):
        if key.startswith(ENV_PREFIX):
            path = [p.lower() for p in key[len(ENV_PREFIX) :].split("__") if p]
            if path:
                _set_path(data, path, value, key)
    return data


def _set_path(data: dict[str, Any], path: list[str], value: str, key: str) -> None:
    """Set ``value`` at ``path`` (dict keys and list indexes) inside ``data``."""
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        child: Any = value if last else ([] if path[i + 1].isdigit() else {})
        if isinstance(node, list):
            if not part.isdigit() or int(part) > len(node):
                raise ConfigError(f"{key}: {part!r} is not a valid list index here")
            idx = int(part)
            if idx == len(node):
                node.append(child)
            elif last:
                node[idx] = value
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node.setdefault(part, child)
        else:
            raise ConfigError(f"{key}: {'.'.join(path[:i])} is not a section")
        if not last:
            node = node[int(part)] if isinstance(node, list) else node[part]


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (if any), apply environment overrides, validate. Raises ConfigError."""
    env = os.environ if environ is None else environ
    data: Any = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"config file {path} is not valid YAML{where}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
    data = _apply_env(data, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        message = _format_errors(exc)
    # Raised outside the handler: the pydantic error (which holds the raw input, secrets
    # included) must not even ride along as __context__.
    raise ConfigError(message)
