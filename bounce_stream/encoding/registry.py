"""A small async client for the Confluent Schema Registry REST API (also served by Karapace).

Standard library only: each request is a blocking ``urllib`` call run in a worker thread.
Basic auth and TLS verification (on by default, optional CA file) come from
:class:`~bounce_stream.settings.SchemaRegistrySettings`. Redirects are refused so the
credentials never travel to another host. Errors are :class:`RegistryError`, whose message
never holds the password or the ``Authorization`` header.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import SecretStr

from bounce_stream.encoding.avro import Encoder, make_encoder
from bounce_stream.encoding.schemas import AvroSchema, get_schema
from bounce_stream.settings import KafkaSettings, SchemaRegistrySettings

_CONTENT_TYPE: Final = "application/vnd.schemaregistry.v1+json"
# Confluent error codes: 40401 subject not found, 40402 version not found.
_NO_VERSIONS: Final = frozenset({40401, 40402})
_MAX_BODY_IN_ERROR = 300


class RegistryError(Exception):
    """The registry refused a request or could not be reached. Never carries a secret."""

    def __init__(
        self, message: str, *, status: int | None = None, error_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code

    @property
    def retriable(self) -> bool:
        """Worth retrying: unreachable, rate-limited (429) or failed on the registry's side."""
        return self.status is None or self.status == 429 or self.status >= 500


class IncompatibleSchemaError(RegistryError):
    """HTTP 409: the schema breaks the subject's compatibility rule."""


class NotFoundError(RegistryError):
    """HTTP 404: no such subject, version or schema id."""


@dataclass(frozen=True, slots=True)
class Compatibility:
    """Outcome of a compatibility check against a subject's latest version."""

    compatible: bool
    messages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicSchema:
    """A topic, its value subject and the schema of its values."""

    topic: str
    subject: str
    schema: AvroSchema


def value_subject(topic: str) -> str:
    """The TopicNameStrategy subject of a topic's values: ``<topic>-value``."""
    return f"{topic}-value"


def topic_schemas(kafka: KafkaSettings) -> tuple[TopicSchema, ...]:
    """The three topics bounce-stream writes, with their value subjects and schemas."""
    pairs = (
        (kafka.events_topic, get_schema("bounce_event")),
        (kafka.checkpoint_topic, get_schema("mailbox_checkpoint")),
        (kafka.dead_letter_topic, get_schema("dead_letter")),
    )
    return tuple(TopicSchema(t, value_subject(t), s) for t, s in pairs)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would replay the Authorization header to the new location."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SchemaRegistryClient:
    """Register, look up and check Avro schemas. Ids are cached per process."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: SecretStr | None = None,
        ca_file: Path | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("schema registry url must be http:// or https:// with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("put registry credentials in username/password, not in the URL")
        self._url = url.rstrip("/")
        self._username = username
        self._password = password
        self._timeout = timeout_seconds
        self._auth = _basic_auth(username, password)
        self._tls = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self._tls), _NoRedirect()
        )
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, str] = {}

    @classmethod
    def from_settings(cls, settings: SchemaRegistrySettings) -> SchemaRegistryClient:
        """A client for the configured registry. ``settings.url`` must be set."""
        if settings.url is None:
            raise ValueError("schema_registry.url is not configured")
        return cls(
            settings.url,
            username=settings.username,
            password=settings.password,
            ca_file=settings.ca_file,
            timeout_seconds=settings.timeout_seconds,
        )

    @property
    def url(self) -> str:
        return self._url

    def __repr__(self) -> str:
        password = "'**********'" if self._password is not None else "None"
        return (
            f"SchemaRegistryClient(url={self._url!r}, username={self._username!r}, "
            f"password={password})"
        )

    async def register(self, subject: str, schema: AvroSchema) -> int:
        """Register ``schema`` under ``subject`` (idempotent); its global id."""
        key = (subject, schema.canonical_form)
        if key not in self._ids:
            answer = await self._request("POST", _subject_path(subject, "versions"), schema)
            self._remember(key, schema, answer)
        return self._ids[key]

    async def lookup(self, subject: str, schema: AvroSchema) -> int:
        """The id of ``schema`` already registered under ``subject``; NotFoundError if none."""
        key = (subject, schema.canonical_form)
        if key not in self._ids:
            answer = await self._request("POST", _subject_path(subject), schema)
            self._remember(key, schema, answer)
        return self._ids[key]

    async def get_schema(self, schema_id: int) -> str:
        """The schema JSON text registered with id ``schema_id``."""
        if schema_id not in self._schemas:
            answer = await self._request("GET", f"/schemas/ids/{int(schema_id)}", None)
            text = answer.get("schema")
            if not isinstance(text, str):
                raise RegistryError(f"registry answer for schema id {schema_id} has no schema")
            self._schemas[schema_id] = text
        return self._schemas[schema_id]

    async def check_compatibility(self, subject: str, schema: AvroSchema) -> Compatibility:
        """Whether ``schema`` may follow the latest version of ``subject``.

        A subject with no versions yet accepts any schema.
        """
        path = _subject_path(subject, "versions", "latest", prefix="/compatibility/subjects")
        try:
            answer = await self._request("POST", path + "?verbose=true", schema)
        except NotFoundError as exc:
            if exc.error_code in _NO_VERSIONS:
                return Compatibility(True, (f"subject {subject} has no versions yet",))
            raise
        compatible = answer.get("is_compatible")
        if not isinstance(compatible, bool):
            raise RegistryError(f"registry answer for {subject} has no is_compatible")
        messages = answer.get("messages") or ()
        return Compatibility(compatible, tuple(str(m) for m in messages))

    def _remember(self, key: tuple[str, str], schema: AvroSchema, answer: dict[str, Any]) -> None:
        schema_id = answer.get("id")
        if not isinstance(schema_id, int):
            raise RegistryError(f"registry answer for subject {key[0]} has no schema id")
        self._ids[key] = schema_id
        self._schemas.setdefault(schema_id, schema.to_json())

    async def _request(self, method: str, path: str, schema: AvroSchema | None) -> dict[str, Any]:
        body = None
        if schema is not None:
            body = json.dumps({"schema": schema.to_json()}).encode()
        return await asyncio.to_thread(self._send, method, path, body)

    def _send(self, method: str, path: str, body: bytes | None) -> dict[str, Any]:
        headers = {"Accept": _CONTENT_TYPE}
        if body is not None:
            headers["Content-Type"] = _CONTENT_TYPE
        if self._auth is not None:
            headers["Authorization"] = self._auth
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self._url + path, data=body, headers=headers, method=method
        )
        where = f"{method} {self._url}{path.partition('?')[0]}"
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(where, exc) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(
                f"{where}: registry unreachable: {self._redact(str(reason))}"
            ) from None
        return _json_object(where, raw)

    def _http_error(self, where: str, exc: urllib.error.HTTPError) -> RegistryError:
        try:
            payload = json.loads(exc.read() or b"{}")
        except (ValueError, OSError):
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        code = payload.get("error_code")
        error_code = code if isinstance(code, int) else None
        detail = self._redact(str(payload.get("message") or exc.reason))[:_MAX_BODY_IN_ERROR]
        message = f"{where}: HTTP {exc.code}: {detail}"
        kind = {409: IncompatibleSchemaError, 404: NotFoundError}.get(exc.code, RegistryError)
        return kind(message, status=exc.code, error_code=error_code)

    def _redact(self, text: str) -> str:
        """Blank anything secret a server or socket error might echo back."""
        token = self._auth.removeprefix("Basic ") if self._auth else None
        for secret in (self._password_value(), token):
            if secret:
                text = text.replace(secret, "**********")
        return text

    def _password_value(self) -> str | None:
        return self._password.get_secret_value() if self._password is not None else None


def _basic_auth(username: str | None, password: SecretStr | None) -> str | None:
    if username is None and password is None:
        return None
    if username is None or password is None:
        raise ValueError("schema registry basic auth needs both username and password")
    token = f"{username}:{password.get_secret_value()}".encode()
    return "Basic " + base64.b64encode(token).decode("ascii")


def _subject_path(subject: str, *rest: str, prefix: str = "/subjects") -> str:
    return "/".join((prefix, urllib.parse.quote(subject, safe=""), *rest))


def _json_object(where: str, raw: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except ValueError:
        raise RegistryError(f"{where}: registry answered with something that is not JSON") from None
    if not isinstance(payload, dict):
        raise RegistryError(f"{where}: registry answered with a JSON {type(payload).__name__}")
    return payload


@dataclass(frozen=True, slots=True)
class TopicEncoders:
    """One encoder per topic bounce-stream writes."""

    events: Encoder
    checkpoints: Encoder
    dead_letters: Encoder


async def topic_encoders(
    kafka: KafkaSettings, client: SchemaRegistryClient | None
) -> TopicEncoders:
    """Encoders for the three topics: Confluent framing with ids registered through ``client``
    (idempotent; IncompatibleSchemaError if the registry refuses), single-object without one.
    """
    encoders = []
    for target in topic_schemas(kafka):
        schema_id = None if client is None else await client.register(target.subject, target.schema)
        encoders.append(make_encoder(target.schema, schema_id))
    events, checkpoints, dead_letters = encoders
    return TopicEncoders(events, checkpoints, dead_letters)
