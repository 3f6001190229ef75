"""The Schema Registry client, against an in-test double of the REST API on 127.0.0.1."""

from __future__ import annotations

import base64
import socket
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from bounce_stream.encoding import (
    Decoder,
    WireFormat,
    bounce_event_schema,
    dead_letter_schema,
    make_encoder,
)
from bounce_stream.encoding.registry import (
    Compatibility,
    IncompatibleSchemaError,
    NotFoundError,
    RegistryError,
    SchemaRegistryClient,
    topic_encoders,
    topic_schemas,
    value_subject,
)
from bounce_stream.settings import KafkaSettings, SchemaRegistrySettings

if TYPE_CHECKING:
    from conftest import FakeRegistry

SUBJECT = "bounce-stream.events-value"


def _client(registry: FakeRegistry, password: str | None = None) -> SchemaRegistryClient:
    return SchemaRegistryClient(
        registry.url,
        username=registry.username,
        password=SecretStr(password or registry.password),
        timeout_seconds=5,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_register_returns_id_and_caches_it(fake_registry: FakeRegistry) -> None:
    """Registering returns the registry's id; registering again is answered from the cache."""
    client = _client(fake_registry)
    first = await client.register(SUBJECT, bounce_event_schema())
    second = await client.register(SUBJECT, bounce_event_schema())
    assert first == second == 1
    assert fake_registry.subjects == {SUBJECT: [1]}
    assert fake_registry.requests == [("POST", f"/subjects/{SUBJECT}/versions")]


async def test_register_sends_full_schema_not_canonical_form(fake_registry: FakeRegistry) -> None:
    """The registry receives the schema with its defaults and logical types, not the PCF."""
    await _client(fake_registry).register(SUBJECT, bounce_event_schema())
    assert '"logicalType":"timestamp-millis"' in fake_registry.schemas[1]
    assert '"default":"undefined"' in fake_registry.schemas[1]


async def test_lookup_finds_registered_schema(fake_registry: FakeRegistry) -> None:
    """lookup returns the id of a schema already under the subject."""
    await _client(fake_registry).register(SUBJECT, bounce_event_schema())
    assert await _client(fake_registry).lookup(SUBJECT, bounce_event_schema()) == 1


async def test_lookup_of_unknown_subject_is_not_found(fake_registry: FakeRegistry) -> None:
    """lookup on a subject that does not exist raises NotFoundError with the 40401 code."""
    with pytest.raises(NotFoundError) as info:
        await _client(fake_registry).lookup(SUBJECT, bounce_event_schema())
    assert info.value.status == 404
    assert info.value.error_code == 40401


async def test_get_schema_by_id(fake_registry: FakeRegistry) -> None:
    """GET /schemas/ids/{id} returns the registered schema text, then from the cache."""
    schema_id = await _client(fake_registry).register(SUBJECT, dead_letter_schema())
    client = _client(fake_registry)
    text = await client.get_schema(schema_id)
    assert await client.get_schema(schema_id) == text
    assert text == dead_letter_schema().to_json()
    assert fake_registry.requests.count(("GET", f"/schemas/ids/{schema_id}")) == 1


async def test_get_unknown_id_is_not_found(fake_registry: FakeRegistry) -> None:
    """An id the registry does not have raises NotFoundError."""
    with pytest.raises(NotFoundError, match="HTTP 404"):
        await _client(fake_registry).get_schema(999)


async def test_decoder_fetches_writer_schema_from_registry(fake_registry: FakeRegistry) -> None:
    """A Confluent frame from another producer decodes once its id is fetched from the registry."""
    schema = dead_letter_schema()
    schema_id = await _client(fake_registry).register(SUBJECT, schema)
    record = {
        "mailbox": "m",
        "uid": 1,
        "uidvalidity": 2,
        "error": "e",
        "size": 3,
        "raw": b"abc",
        "truncated": False,
        "failed_at": 0,
    }
    data = make_encoder(schema, schema_id).encode(record)
    decoded = await Decoder().decode_fetching(data, _client(fake_registry))
    assert decoded["raw"] == b"abc"


async def test_register_incompatible_raises_409(fake_registry: FakeRegistry) -> None:
    """A 409 from the registry becomes IncompatibleSchemaError carrying the server's message."""
    await _client(fake_registry).register(SUBJECT, dead_letter_schema())
    fake_registry.incompatible.add(SUBJECT)
    with pytest.raises(IncompatibleSchemaError, match="incompatible") as info:
        await _client(fake_registry).register(SUBJECT, bounce_event_schema())
    assert info.value.status == 409
    assert not info.value.retriable


async def test_compatibility_check_reports_messages(fake_registry: FakeRegistry) -> None:
    """An incompatible schema gives compatible=False with the registry's reasons."""
    await _client(fake_registry).register(SUBJECT, dead_letter_schema())
    fake_registry.incompatible.add(SUBJECT)
    verdict = await _client(fake_registry).check_compatibility(SUBJECT, bounce_event_schema())
    assert not verdict.compatible
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in verdict.messages[0]


async def test_compatibility_check_compatible(fake_registry: FakeRegistry) -> None:
    """A compatible schema gives compatible=True and the verbose query is used."""
    await _client(fake_registry).register(SUBJECT, bounce_event_schema())
    verdict = await _client(fake_registry).check_compatibility(SUBJECT, bounce_event_schema())
    assert verdict == Compatibility(True, ())
    assert fake_registry.requests[-1] == (
        "POST",
        f"/compatibility/subjects/{SUBJECT}/versions/latest?verbose=true",
    )


async def test_compatibility_of_new_subject_is_true(fake_registry: FakeRegistry) -> None:
    """A subject with no versions yet accepts any schema."""
    verdict = await _client(fake_registry).check_compatibility(SUBJECT, bounce_event_schema())
    assert verdict.compatible
    assert "no versions" in verdict.messages[0]


async def test_401_message_never_contains_password(fake_registry: FakeRegistry) -> None:
    """A 401 error names the status but not the password, even when the server echoes it."""
    fake_registry.echo_auth_on_401 = True
    token = base64.b64encode(f"{fake_registry.username}:{fake_registry.password}".encode()).decode()
    with pytest.raises(RegistryError) as info:
        await _client(fake_registry).register(SUBJECT, bounce_event_schema())
    message = str(info.value)
    assert "HTTP 401" in message
    assert fake_registry.password not in message
    assert token not in message
    assert info.value.status == 401


async def test_wrong_password_is_401(fake_registry: FakeRegistry) -> None:
    """Wrong credentials give a RegistryError with status 401 and no secret in it."""
    with pytest.raises(RegistryError) as info:
        await _client(fake_registry, password="wrong-pw-123").register(
            SUBJECT, dead_letter_schema()
        )
    assert info.value.status == 401
    assert "wrong-pw-123" not in str(info.value)


async def test_unreachable_registry_is_retriable() -> None:
    """A refused connection raises a retriable RegistryError naming the URL."""
    url = f"http://127.0.0.1:{_free_port()}"
    client = SchemaRegistryClient(url, username="u", password=SecretStr("pw-xyz"))
    with pytest.raises(RegistryError, match="unreachable") as info:
        await client.get_schema(1)
    assert info.value.retriable
    assert "pw-xyz" not in str(info.value)


async def test_timeout_is_a_registry_error() -> None:
    """A server that accepts but never answers times out as a retriable RegistryError."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = SchemaRegistryClient(url, timeout_seconds=0.2)
        with pytest.raises(RegistryError) as info:
            await client.get_schema(1)
    assert info.value.retriable


def test_repr_hides_password() -> None:
    """The client's repr shows url and user, never the password."""
    client = SchemaRegistryClient(
        "https://registry.example:8081", username="svc", password=SecretStr("hunter2-pw")
    )
    text = repr(client)
    assert "hunter2-pw" not in text
    assert "svc" in text
    assert "registry.example" in text


def test_credentials_in_url_are_refused() -> None:
    """A URL with user:password@ is refused, and the error does not repeat it."""
    with pytest.raises(ValueError, match="not in the URL") as info:
        SchemaRegistryClient("https://svc:hunter2-pw@registry.example")
    assert "hunter2-pw" not in str(info.value)


def test_half_basic_auth_is_refused() -> None:
    """A username without a password (or the reverse) is a configuration error."""
    with pytest.raises(ValueError, match="both"):
        SchemaRegistryClient("https://registry.example", username="svc")


def test_from_settings_needs_url() -> None:
    """Building a client from settings without a URL is a ValueError."""
    with pytest.raises(ValueError, match=r"schema_registry\.url"):
        SchemaRegistryClient.from_settings(SchemaRegistrySettings())


def test_tls_verification_is_on_by_default() -> None:
    """The HTTPS handler verifies certificates and host names unless told otherwise."""
    client = SchemaRegistryClient("https://registry.example")
    assert client._tls.check_hostname
    assert client._tls.verify_mode == ssl.CERT_REQUIRED


def test_missing_ca_file_fails_early(tmp_path: Path) -> None:
    """A ca_file that does not exist fails when the client is built, not at first request."""
    with pytest.raises(OSError):
        SchemaRegistryClient("https://registry.example", ca_file=tmp_path / "nope.pem")


def test_value_subjects_follow_topic_names() -> None:
    """Subjects are <topic>-value for the events, checkpoint and dead-letter topics."""
    assert value_subject("t") == "t-value"
    targets = topic_schemas(KafkaSettings(events_topic="ev", checkpoint_topic="cp"))
    assert [(t.subject, t.schema.name) for t in targets] == [
        ("ev-value", "bounce_event"),
        ("cp-value", "mailbox_checkpoint"),
        ("bounce-stream.dead-letter-value", "dead_letter"),
    ]


async def test_topic_encoders_without_registry_are_single_object() -> None:
    """With no registry client every topic gets a single-object encoder."""
    encoders = await topic_encoders(KafkaSettings(), None)
    assert encoders.events.wire_format is WireFormat.SINGLE_OBJECT
    assert encoders.checkpoints.schema.name == "mailbox_checkpoint"
    assert encoders.dead_letters.schema.name == "dead_letter"


async def test_topic_encoders_with_registry_register_and_frame(fake_registry: FakeRegistry) -> None:
    """With a registry each topic's value subject is registered and its id framed in."""
    encoders = await topic_encoders(KafkaSettings(), _client(fake_registry))
    assert set(fake_registry.subjects) == {
        "bounce-stream.events-value",
        "bounce-stream.checkpoints-value",
        "bounce-stream.dead-letter-value",
    }
    assert encoders.events.wire_format is WireFormat.CONFLUENT
    assert dict(encoders.dead_letters.headers())["avro.schema.id"] == b"3"
