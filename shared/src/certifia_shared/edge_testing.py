"""What every service's suite checks at its edges (certifia_shared.hygiene, certifia_shared.web): hostile text
refused naming the field, a declared body too large refused before it is read, the OpenAPI document.

The hostile strings are those measured in the review: NUL, C0 controls, ANSI escapes, CR/LF and the
right-to-left override were accepted in names, external ids, companies and comments (such a name ended in a
signed diploma). Free text keeps line feeds (and reads CR as LF) on purpose: only the others apply to it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message

HOSTILE_FREE_TEXT = {
    "NUL": "Ada\x00Lovelace",
    "C0 control": "Ada\x07\x08Lovelace",
    "ANSI escape": "Ada\x1b[2J\x1b[31mLovelace",
    "RLO": "Ada\u202eecalevoL",
}
"""What no text may hold, free text included."""
HOSTILE_ONE_LINE = {**HOSTILE_FREE_TEXT, "CR/LF": "Ada\r\nLovelace", "LF": "Ada\nSet-Cookie: x=y"}
"""What a name, an identifier or a one-line text may not hold."""
DECOMPOSED, COMPOSED = "Ame\u0301lie", "Amélie"
"""An "e" followed by a combining acute accent, and the one character NFC makes of them."""
MiB = 1 << 20


def hostile(value: str, *, free_text: bool = False) -> dict[str, str]:
    """The hostile strings, each after ``value`` (a valid one, so that only the hostile characters are at
    fault; no space between, which an identifier refuses)."""
    cases = HOSTILE_FREE_TEXT if free_text else HOSTILE_ONE_LINE
    return {what: f"{value}{attack}" for what, attack in cases.items()}


def refused_fields(response: Any) -> set[str]:
    """The fields a 422 problem names (asserts that it is one)."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return {str(e["field"]) for e in response.json().get("errors", [])}


@dataclass
class Unread:
    """What the app answered to a request whose body it was never sent."""

    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    chunks_read: int = 0


def declared_too_large(
    app: ASGIApp,
    path: str,
    *,
    declared: int = 100 * MiB,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> Unread:
    """POST ``path`` declaring a ``Content-Length`` of ``declared`` bytes (no token unless ``headers`` has
    one) and count how many body chunks the app asked for: a body the edge refuses unread reads none."""
    answer = Unread()
    sent = {"content-type": content_type, "content-length": str(declared), **(headers or {})}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in sent.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    chunks: list[bytes] = []

    async def receive() -> Message:
        answer.chunks_read += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=10))
    answer.body = json.loads(b"".join(chunks) or b"{}")
    return answer


PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def assert_documents_edges(
    document: dict[str, Any], *, private: Iterable[tuple[str, str]], public: Iterable[tuple[str, str]] = ()
) -> None:
    """The OpenAPI document has the bearer scheme, requires it on each ``private`` (method, path) and not on
    the ``public`` ones, and documents the problem responses of both."""
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path in private:
        operation = document["paths"][path][method]
        assert {"bearerAuth": []} in operation.get("security", []), (method, path)
        for status in ("401", "403", "404", "500"):
            assert operation["responses"][status]["content"] == PROBLEM, (method, path, status)
        if "requestBody" in operation or operation.get("parameters"):
            assert operation["responses"]["422"]["content"] == PROBLEM, (method, path)
        if "requestBody" in operation:
            for status in ("400", "413", "415"):
                assert operation["responses"][status]["content"] == PROBLEM, (method, path, status)
    for method, path in public:
        operation = document["paths"][path][method]
        assert "security" not in operation and "401" not in operation["responses"], (method, path)
        assert operation["responses"]["500"]["content"] == PROBLEM, (method, path)
