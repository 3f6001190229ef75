"""Configuration: a YAML file, then environment overrides, validated into frozen typed settings.

Environment overrides use ``BOUNCE_STREAM__`` plus the key path joined by ``__``, with list
items by index: ``BOUNCE_STREAM__KAFKA__BOOTSTRAP_SERVERS``,
``BOUNCE_STREAM__MAILBOXES__0__PASSWORD``. Every secret can also come from a file
(``password_file``) or a named environment variable (``password_env``).
"""

from __future__ import annotations

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


class MailboxSettings(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 993
    username: str
    password: SecretStr | None = None
    password_file: Path | None = None
    password_env: str | None = None
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
        if secret is None:
            raise ValueError("password is required (password, password_file or password_env)")
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
        assert self.password is not None  # guaranteed by _resolve
        return self.password.get_secret_value()


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
        try:
            parts = urllib.parse.urlsplit(v)
            host = parts.hostname
        except ValueError:
            raise ValueError("is not a valid URL") from None
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
