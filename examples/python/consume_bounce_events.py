"""Read bounce-stream events from Kafka with read_committed and print one line per event.

Needs only aiokafka and fastavro (``pip install aiokafka fastavro``), not bounce-stream.
Decodes both framings bounce-stream writes:

* Avro single-object encoding: ``C3 01`` + 8-byte little-endian CRC-64-AVRO fingerprint of
  the writer schema + Avro binary body (the default, no registry);
* Confluent framing: ``00`` + 4-byte big-endian Schema Registry id + body (when bounce-stream
  has ``schema_registry.url``); the writer schema is fetched once per id from --registry
  (basic auth from the environment variable REGISTRY_USER_INFO=user:password, if set).

Every record is resolved to the reader schema given (schema evolution: a newer or older
writer schema still decodes).

Usage: python consume_bounce_events.py BOOTSTRAP TOPIC SCHEMA_FILE [MAX_EVENTS]
       [--registry URL]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import struct
import urllib.request
from typing import Any

from aiokafka import AIOKafkaConsumer
from fastavro import parse_schema, schemaless_reader
from fastavro.schema import fingerprint, to_parsing_canonical_form


def crc64_avro(schema: dict[str, Any]) -> int:
    """CRC-64-AVRO of the schema's canonical form as a number (fastavro renders it LE)."""
    rendered = fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO")
    return int.from_bytes(bytes.fromhex(rendered), "little")


class EventDecoder:
    """Both framings to dicts, resolved to one reader schema."""

    def __init__(self, reader: dict[str, Any], registry: str | None) -> None:
        self.reader = parse_schema(reader)
        self.fingerprints = {crc64_avro(reader): self.reader}
        self.registry = registry
        self.by_id: dict[int, Any] = {}

    def writer_by_id(self, schema_id: int) -> Any:
        if schema_id not in self.by_id:
            if self.registry is None:
                raise ValueError(f"Confluent-framed value (schema id {schema_id}): need --registry")
            url = f"{self.registry.rstrip('/')}/schemas/ids/{schema_id}"
            if not url.startswith(("http://", "https://")):
                raise ValueError("--registry must be an http:// or https:// URL")
            request = urllib.request.Request(url)  # noqa: S310 (scheme checked above)
            user_info = os.environ.get("REGISTRY_USER_INFO")
            if user_info:
                token = base64.b64encode(user_info.encode()).decode()
                request.add_header("Authorization", f"Basic {token}")
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                self.by_id[schema_id] = parse_schema(json.loads(json.load(answer)["schema"]))
        return self.by_id[schema_id]

    def decode(self, value: bytes) -> dict[str, Any]:
        if value[:2] == b"\xc3\x01":
            (fp,) = struct.unpack_from("<Q", value, 2)
            writer = self.fingerprints.get(fp)
            if writer is None:  # an older/newer writer: add its .avsc to self.fingerprints
                raise ValueError(f"unknown writer schema fingerprint {fp:016x}")
            body = value[10:]
        elif value[:1] == b"\x00":
            (schema_id,) = struct.unpack_from(">I", value, 1)
            writer, body = self.writer_by_id(schema_id), value[5:]
        else:
            raise ValueError(f"not an Avro frame: {value[:2].hex()}")
        record = schemaless_reader(io.BytesIO(body), writer, self.reader)
        assert isinstance(record, dict)
        return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap")
    parser.add_argument("topic")
    parser.add_argument("schema_file")
    parser.add_argument("max_events", type=int, nargs="?", default=None)
    parser.add_argument("--registry", default=None, help="Schema Registry URL (Confluent)")
    args = parser.parse_args()
    with open(args.schema_file, encoding="utf-8") as f:
        reader = json.load(f)
    print(f"fingerprint {crc64_avro(reader):016x}")
    decoder = EventDecoder(reader, args.registry)
    asyncio.run(consume(args.bootstrap, args.topic, decoder, args.max_events))


async def consume(bootstrap: str, topic: str, decoder: EventDecoder, limit: int | None) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen = 0
    try:
        while limit is None or seen < limit:
            batch = await consumer.getmany(timeout_ms=30_000)
            if not batch:
                raise SystemExit(f"no event for 30 s after {seen} events")
            for records in batch.values():
                for rec in records:
                    event = decoder.decode(rec.value)
                    framing = dict(rec.headers).get("content-type", b"").decode()
                    print(
                        f"event {event['event_id']} {event['recipient']} {event['reason']}"
                        f" {event['status'] or '-'} {framing.rpartition('=')[2]}"
                    )
                    seen += 1
    finally:
        await consumer.stop()


if __name__ == "__main__":
    main()
