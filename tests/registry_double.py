"""A stand-in for the Confluent Schema Registry REST API, served on 127.0.0.1 from a thread.

Used by the encoding unit tests and by the integration test of Confluent framing (Kafka and
IMAP stay real there; no Confluent-compatible registry can be installed from the registries
this project reaches).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

REGISTRY_USER = "registry-user"
REGISTRY_PASSWORD = "s3cret-Registry-pw"


@dataclass
class FakeRegistry:
    """State of the fake registry; tests read and tweak it."""

    url: str = ""
    username: str = REGISTRY_USER
    password: str = REGISTRY_PASSWORD
    subjects: dict[str, list[int]] = field(default_factory=dict)
    schemas: dict[int, str] = field(default_factory=dict)
    # Subjects whose compatibility rule rejects every new schema.
    incompatible: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # When set, every answer is a 401 that echoes the Authorization header back (hostile).
    echo_auth_on_401: bool = False

    def id_for(self, text: str) -> int:
        for schema_id, known in self.schemas.items():
            if json.loads(known) == json.loads(text):
                return schema_id
        schema_id = len(self.schemas) + 1
        self.schemas[schema_id] = text
        return schema_id


class _Handler(BaseHTTPRequestHandler):
    registry: FakeRegistry

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        reg = self.registry
        token = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
        given = self.headers.get("Authorization", "")
        if given == f"Basic {token}" and not reg.echo_auth_on_401:
            return True
        message = "Unauthorized"
        if reg.echo_auth_on_401:
            token = given.removeprefix("Basic ")
            message = f"bad credentials: {given} / token {token} / password {reg.password}"
        self._answer(401, {"error_code": 40101, "message": message})
        return False

    def _body_schema(self) -> str:
        length = int(self.headers.get("Content-Length", "0"))
        return str(json.loads(self.rfile.read(length))["schema"])

    def do_GET(self) -> None:
        self.registry.requests.append(("GET", self.path))
        if not self._authorised():
            return
        parts = urlsplit(self.path).path.strip("/").split("/")
        if parts[:2] == ["schemas", "ids"] and int(parts[2]) in self.registry.schemas:
            self._answer(200, {"schema": self.registry.schemas[int(parts[2])]})
        else:
            self._answer(404, {"error_code": 40403, "message": "Schema not found"})

    def do_POST(self) -> None:
        reg = self.registry
        reg.requests.append(("POST", self.path))
        if not self._authorised():
            return
        text = self._body_schema()
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
        if parts[0] == "subjects" and len(parts) == 3:
            self._register(parts[1], text)
        elif parts[0] == "subjects" and len(parts) == 2:
            self._lookup(parts[1], text)
        elif parts[0] == "compatibility":
            self._compatibility(parts[2], text)
        else:
            self._answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

    def _register(self, subject: str, text: str) -> None:
        reg = self.registry
        if subject in reg.incompatible and subject in reg.subjects:
            self._answer(
                409, {"error_code": 409, "message": "Schema being registered is incompatible"}
            )
            return
        schema_id = reg.id_for(text)
        versions = reg.subjects.setdefault(subject, [])
        if schema_id not in versions:
            versions.append(schema_id)
        self._answer(200, {"id": schema_id})

    def _lookup(self, subject: str, text: str) -> None:
        reg = self.registry
        if subject not in reg.subjects:
            self._answer(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})
            return
        schema_id = reg.id_for(text)
        if schema_id not in reg.subjects[subject]:
            self._answer(404, {"error_code": 40403, "message": "Schema not found"})
            return
        version = reg.subjects[subject].index(schema_id) + 1
        self._answer(200, {"subject": subject, "id": schema_id, "version": version, "schema": text})

    def _compatibility(self, subject: str, text: str) -> None:
        reg = self.registry
        if subject not in reg.subjects:
            self._answer(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})
        elif subject in reg.incompatible:
            reason = "READER_FIELD_MISSING_DEFAULT_VALUE, location:/fields/30"
            self._answer(200, {"is_compatible": False, "messages": [reason]})
        else:
            self._answer(200, {"is_compatible": True, "messages": []})


@contextmanager
def running_registry() -> Iterator[FakeRegistry]:
    """A fake registry listening on an ephemeral 127.0.0.1 port until the block ends."""
    registry = FakeRegistry()
    handler = type("Handler", (_Handler,), {"registry": registry})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
