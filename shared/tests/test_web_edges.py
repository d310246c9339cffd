"""The edges create_app gives every service: unhandled errors, body parsing and size, caching, OpenAPI."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, File, Form, Response, UploadFile
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.types import Message

from certifia_shared.config import ServiceSettings
from certifia_shared.hygiene import PersonName, ShortText
from certifia_shared.problems import MEDIA_TYPE, correlation_id
from certifia_shared.testing import test_issuer as local_issuer
from certifia_shared.web import create_app, replayed

SERVICE = "edges-test"
KiB = 1024


class Member(BaseModel):
    name: PersonName
    role: str


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: postgres://user:pw@db")

    @router.post("/enrol-while-the-database-restarts")
    def database_restarting() -> None:
        # what psycopg raises through SQLAlchemy when PostgreSQL restarts under a request
        raise OperationalError(
            "SELECT 1", {}, Exception("terminating connection due to administrator command")
        )

    @router.get("/half")
    def half() -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            yield b'{"partial": '
            raise RuntimeError("failed mid-stream")

        return StreamingResponse(chunks(), media_type="application/json")

    @router.post("/members", status_code=201)
    def add_member(body: Member) -> dict[str, str]:
        return {"name": body.name}

    @router.post("/uploads", status_code=201)
    async def upload(
        title: Annotated[ShortText, Form()], file: Annotated[UploadFile, File()]
    ) -> dict[str, Any]:
        return {"title": title, "size": len(await file.read())}

    @router.post("/other-uploads", status_code=201)
    async def other_upload(file: Annotated[UploadFile, File()]) -> dict[str, int]:
        return {"size": len(await file.read())}

    @router.get("/members/{member_id}")
    def member(member_id: str) -> dict[str, str]:
        return {"id": member_id}

    @router.get("/cached")
    def cached(response: Response) -> dict[str, str]:
        response.headers["Cache-Control"] = "private, max-age=60"
        return {"cached": "yes"}

    @router.get("/text", responses={404: {"content": {"text/plain": {}}, "description": "a text page"}})
    def text() -> PlainTextResponse:
        return PlainTextResponse("hello")

    @router.get("/public/diplomas/{diploma_id}/verification")
    def verify(diploma_id: str) -> dict[str, str]:
        return {"diploma_id": diploma_id}

    @router.post("/public/verifications")
    def verify_posted(body: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(body)}

    @router.get("/.well-known/jwks.json")
    def jwks() -> dict[str, list[str]]:
        return {"keys": []}

    return router


def _settings() -> ServiceSettings:
    return ServiceSettings.model_construct(service_name=SERVICE, oidc_issuer=local_issuer().url)


def _app(**kwargs: Any) -> FastAPI:
    options: dict[str, Any] = {
        "public_paths": [
            "/public/diplomas/{diploma_id}/verification",
            "/public/verifications",
            "/.well-known/",
        ],
        "body_limits": {"/uploads": 16 * KiB},
        "default_body_limit": 2 * KiB,
        "upload_body_limit": 32 * KiB,
        "public_body_limit": 512,
    }
    options.update(kwargs)
    return create_app(
        settings=_settings(), title="edges", routers=[_router()], readiness=lambda: {}, **options
    )


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return _app()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app)  # raise_server_exceptions stays True: nothing may reach the server


def _count(route: str, status: int, method: str = "GET") -> float:
    labels = {"service": SERVICE, "method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("certifia_http_requests_total", labels) or 0.0


def _problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == f"https://certifia.fr/problems/{kind}"
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    return body


# -- a raw ASGI exchange, to see what is read and sent -------------------------------------------------------
@dataclass
class Exchange:
    messages: list[Message] = field(default_factory=list)
    chunks_read: int = 0

    @property
    def status(self) -> int:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.messages
        return int(starts[0]["status"])

    @property
    def body(self) -> dict[str, Any]:
        raw = b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")
        parsed: dict[str, Any] = json.loads(raw)
        return parsed


def _exchange(
    app: FastAPI, path: str, *, headers: dict[str, str], chunks: Iterator[bytes], method: str = "POST"
) -> Exchange:
    exchange = Exchange()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> Message:
        chunk = next(chunks, None)
        if chunk is None:
            await asyncio.Event().wait()  # the client waits for the answer
        exchange.chunks_read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        exchange.messages.append(message)

    async def run() -> None:
        await asyncio.wait_for(app(scope, receive, send), timeout=10)

    asyncio.run(run())
    return exchange


def _endless(size: int = KiB) -> Iterator[bytes]:
    while True:
        yield b"x" * size


# -- unhandled errors ----------------------------------------------------------------------------------------
def test_an_unhandled_error_answers_a_problem_and_is_counted_as_a_500(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    before = _count("/boom", 500)
    unhandled = {"service": SERVICE, "method": "GET", "route": "/boom", "exception": "RuntimeError"}
    unhandled_before = REGISTRY.get_sample_value("certifia_http_unhandled_errors_total", unhandled) or 0.0
    with caplog.at_level(logging.ERROR, logger="certifia_shared.web"):
        response = client.get("/boom")
    body = _problem(response, 500, "internal-error")
    assert re.fullmatch(r"[0-9a-f]{32}", body["correlation_id"])
    assert response.headers["x-correlation-id"] == body["correlation_id"]
    assert body["correlation_id"] in body["detail"]
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert _count("/boom", 500) == before + 1
    assert (
        REGISTRY.get_sample_value("certifia_http_unhandled_errors_total", unhandled) == unhandled_before + 1
    )
    [record] = [r for r in caplog.records if body["correlation_id"] in r.getMessage()]
    assert record.exc_info is not None and isinstance(
        record.exc_info[1], RuntimeError
    )  # logged with its stack
    assert record.fields["correlation_id"] == body["correlation_id"]  # type: ignore[attr-defined]


def test_an_unreachable_database_is_a_503_with_retry_after_not_a_500(client: TestClient) -> None:
    """Measured before (make bench-cohort, PostgreSQL restarted under load): requests in flight got 500
    internal-error, which tells an LMS the server is broken, where it should retry."""
    route = "/enrol-while-the-database-restarts"
    before_500, before_503 = _count(route, 500, "POST"), _count(route, 503, "POST")
    response = client.post(route)
    body = _problem(response, 503, "database-unavailable")
    assert response.headers["retry-after"] == "2"
    assert body["correlation_id"] in body["detail"] and "administrator command" not in response.text
    assert (_count(route, 503, "POST"), _count(route, 500, "POST")) == (before_503 + 1, before_500)


def test_an_error_after_the_response_started_is_counted_and_logged_not_answered_twice(app: FastAPI) -> None:
    before = _count("/half", 500)
    exchange = _exchange(app, "/half", method="GET", headers={}, chunks=iter([b""]))
    assert exchange.status == 200  # already sent: the server cuts the response, the client sees it truncated
    assert _count("/half", 500) == before + 1


def test_the_correlation_id_is_the_trace_id_when_there_is_one() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        assert correlation_id() == format(span.get_span_context().trace_id, "032x")
    assert correlation_id() != correlation_id()  # no trace: a fresh id each time


@pytest.fixture(scope="module")
def server(app: FastAPI) -> Iterator[int]:
    """The app behind a real uvicorn on an ephemeral local port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="critical")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield running.servers[0].sockets[0].getsockname()[1]
    running.should_exit = True
    thread.join(timeout=10)


def test_over_http_the_connection_survives_a_500(server: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    connection.request("GET", "/boom")
    failed = connection.getresponse()
    assert failed.status == 500 and json.loads(failed.read())["type"].endswith("/internal-error")
    connection.request("GET", "/members/m-1")  # the same connection: not dropped by the server
    after = connection.getresponse()
    assert (after.status, json.loads(after.read())) == (200, {"id": "m-1"})
    connection.close()


def _eventually(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.01)


def test_over_http_a_chunked_body_is_cut_at_the_limit(server: int) -> None:
    """3 KiB sent chunked (no Content-Length) to a route that reads 2 KiB, the body left unfinished: the
    413 comes without waiting for the rest. (Nothing more is sent: bytes arriving after the server closed
    would reset the connection, and the client could lose the answer before reading it.)"""
    before = _count("/members", 413, "POST")
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        head = "POST /members HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        sock.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
        sock.sendall((b"400\r\n" + b"a" * KiB + b"\r\n") * 3)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["limit_bytes"] == 2 * KiB
    _eventually(lambda: _count("/members", 413, "POST") == before + 1)  # the server thread counts it


# -- body size -----------------------------------------------------------------------------------------------
def test_a_declared_content_length_over_the_limit_is_refused_before_the_body_is_read(app: FastAPI) -> None:
    before = _count("/members", 413, "POST")
    exchange = _exchange(
        app,
        "/members",
        headers={"content-type": "application/json", "content-length": str(10 * 1024 * 1024)},
        chunks=_endless(),
    )
    assert exchange.status == 413
    assert exchange.chunks_read == 0
    body = exchange.body
    assert body["type"].endswith("/body-too-large") and body["limit_bytes"] == 2 * KiB
    assert "2048 bytes (2 KiB)" in body["detail"]
    assert body["errors"] == [{"field": "body", "in": "body", "message": "larger than 2048 bytes"}]
    assert _count("/members", 413, "POST") == before + 1  # counted under the route it was meant for


def test_a_streamed_body_without_length_is_cut_as_soon_as_it_passes_the_limit(app: FastAPI) -> None:
    exchange = _exchange(app, "/members", headers={"content-type": "application/json"}, chunks=_endless())
    assert exchange.status == 413
    assert exchange.body["limit_bytes"] == 2 * KiB
    assert exchange.chunks_read == 3  # 3 KiB read: the first chunk past 2 KiB, and nothing more


def test_an_upload_route_has_its_own_limit(client: TestClient) -> None:
    ok = client.post(
        "/uploads", data={"title": "Thesis"}, files={"file": ("t.pdf", b"%PDF-" + b"x" * 10 * KiB)}
    )
    assert ok.status_code == 201 and ok.json()["size"] == 10 * KiB + 5
    too_large = client.post("/uploads", data={"title": "T"}, files={"file": ("t.pdf", b"x" * 20 * KiB)})
    assert _problem(too_large, 413, "body-too-large")["limit_bytes"] == 16 * KiB
    assert (
        _problem(client.post("/members", json={"name": "a" * 3000, "role": "x"}), 413, "body-too-large")[
            "limit_bytes"
        ]
        == 2 * KiB
    )


def test_an_upload_route_without_its_own_limit_gets_the_upload_limit(client: TestClient) -> None:
    ok = client.post("/other-uploads", files={"file": ("a.zip", b"x" * 20 * KiB)})
    assert ok.status_code == 201
    too_large = client.post("/other-uploads", files={"file": ("a.zip", b"x" * 40 * KiB)})
    assert _problem(too_large, 413, "body-too-large")["limit_bytes"] == 32 * KiB


def test_public_routes_read_little(client: TestClient) -> None:
    assert client.post("/public/verifications", json={"a": "b"}).json() == {"keys": 1}
    refused = client.post("/public/verifications", json={"a": "b" * 600})
    assert _problem(refused, 413, "body-too-large")["limit_bytes"] == 512


# -- body parsing --------------------------------------------------------------------------------------------
def test_malformed_json_names_the_body_and_where_it_breaks(client: TestClient) -> None:
    response = client.post(
        "/members", content=b'{"name": "Ada",\n "role": }', headers={"content-type": "application/json"}
    )
    body = _problem(response, 400, "malformed-body")
    [error] = body["errors"]
    assert (error["field"], error["in"]) == ("body", "body")
    assert "line 2, column 10" in error["message"] and "Expecting value" in error["message"]
    assert "JSON" in body["detail"]


def test_a_body_of_the_wrong_media_type_is_a_415_naming_the_content_type(client: TestClient) -> None:
    as_text = client.post("/members", content=b'{"name": "a"}', headers={"content-type": "text/plain"})
    body = _problem(as_text, 415, "unsupported-media-type")
    assert body["errors"] == [
        {"field": "Content-Type", "in": "header", "message": "expected application/json, got text/plain"}
    ]
    assert "application/json" in body["detail"]
    no_type = client.post("/members", content=b'{"name": "a", "role": "r"}')
    assert "sends no Content-Type" in _problem(no_type, 415, "unsupported-media-type")["detail"]
    json_to_upload = client.post("/uploads", json={"title": "T"})
    assert "multipart/form-data" in _problem(json_to_upload, 415, "unsupported-media-type")["detail"]
    assert client.post("/members", json={"name": "Ada", "role": "r"}, headers={}).status_code == 201


def test_bad_multipart_names_the_body(client: TestClient) -> None:
    no_boundary = client.post("/uploads", content=b"--x\r\n", headers={"content-type": "multipart/form-data"})
    body = _problem(no_boundary, 400, "malformed-body")
    assert body["errors"] == [{"field": "body", "in": "body", "message": "Missing boundary in multipart."}]
    assert "multipart/form-data" in body["detail"]
    garbled = client.post(
        "/uploads", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert garbled.status_code in {400, 422} and garbled.headers["content-type"].startswith(MEDIA_TYPE)


def test_validation_errors_keep_their_shape_and_say_where(client: TestClient) -> None:
    response = client.post("/members", json={"name": "Ada\u202e", "role": 3})
    body = _problem(response, 422, "validation")
    assert {e["field"] for e in body["errors"]} == {"name", "role"}
    assert all(e["in"] == "body" for e in body["errors"])
    [name] = [e for e in body["errors"] if e["field"] == "name"]
    assert "U+202E" in name["message"]
    assert "name" in body["detail"] and "role" in body["detail"]
    form = client.post("/uploads", data={"title": "a\x1b[31m"}, files={"file": ("t.pdf", b"%PDF-")})
    [title] = _problem(form, 422, "validation")["errors"]
    assert title["field"] == "title" and "ANSI escape" in title["message"]


def test_other_http_errors_stay_problems(client: TestClient) -> None:
    response = client.delete("/members")
    assert response.status_code == 405 and response.json()["title"] == "Method not allowed"
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(MEDIA_TYPE)


# -- caching -------------------------------------------------------------------------------------------------
def test_private_json_is_not_stored_unless_the_route_says_otherwise(client: TestClient) -> None:
    assert client.get("/members/m-1").headers["cache-control"] == "no-store"
    assert client.get("/cached").headers["cache-control"] == "private, max-age=60"
    assert client.get("/nowhere").headers["cache-control"] == "no-store"  # a problem is JSON too
    assert "cache-control" not in client.get("/text").headers  # not JSON: the route decides
    assert "cache-control" not in client.get("/public/diplomas/d-1/verification").headers
    assert "cache-control" not in client.get("/.well-known/jwks.json").headers
    assert "cache-control" not in client.get("/healthz").headers


# -- OpenAPI -------------------------------------------------------------------------------------------------
def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_openapi_documents_the_bearer_scheme_on_private_routes_only(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    public = {"/public/diplomas/{diploma_id}/verification", "/public/verifications", "/.well-known/jwks.json"}
    public |= {"/healthz", "/readyz", "/metrics"}
    for path, method, operation in _operations(document):
        if path in public:
            assert "security" not in operation, (method, path)
            assert "401" not in operation["responses"], (method, path)
        else:
            assert operation["security"] == [{"bearerAuth": []}], (method, path)


def test_openapi_documents_problem_responses_on_every_route(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["Problem"]["required"] == ["type", "title", "status", "detail", "instance"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    problem = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        expected = {"404", "500"}
        if "security" in operation:
            expected |= {"401", "403"}
        if method in {"post", "put", "patch", "delete"}:
            expected.add("409")
        if "requestBody" in operation:
            expected |= {"400", "413", "415", "422"}
        if operation.get("parameters"):
            expected.add("422")
        assert expected <= responses.keys(), (method, path, sorted(responses))
        for status in expected - ({"404"} if path == "/text" else set()):
            assert responses[status]["content"] == problem, (method, path, status)
    text_404 = document["paths"]["/text"]["get"]["responses"]["404"]
    assert text_404["description"] == "a text page"  # what a route declares stays, the problem beside it
    assert text_404["content"] == {"text/plain": {}, **problem}
    assert "2XX" not in document["paths"]["/members"]["post"]["responses"]
    assert "201" in document["paths"]["/members"]["post"]["responses"]


def test_the_400_of_a_malformed_body_is_documented(client: TestClient) -> None:
    """Found by the fuzz suite: a body that does not parse answers 400 malformed-body, which OpenAPI did not list
    among the operation's responses."""
    _problem(
        client.post("/members", content=b"{", headers={"content-type": "application/json"}),
        400,
        "malformed-body",
    )
    responses = client.get("/openapi.json").json()["paths"]["/members"]["post"]["responses"]
    assert responses["400"]["content"] == {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert (
        "400" not in client.get("/openapi.json").json()["paths"]["/members/{member_id}"]["get"]["responses"]
    )


def test_openapi_documents_what_metrics_answers(client: TestClient) -> None:
    """Found by the fuzz suite: /metrics answers text/plain (the Prometheus format); OpenAPI said JSON."""
    documented = client.get("/openapi.json").json()["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    answered = client.get("/metrics").headers["content-type"].split(";")[0]
    assert list(documented) == [answered] == ["text/plain"]
    assert documented["text/plain"]["schema"]["type"] == "string"


def test_openapi_documents_the_503_of_readiness() -> None:
    """Found while fixing what the fuzz suite found: /readyz answers 503 when a check fails (the fuzz suite,
    without Kafka, only ever sees it ready), and OpenAPI listed only 200."""
    app = create_app(settings=_settings(), title="t", routers=[], readiness=lambda: {"database": "down"})
    client = TestClient(app)
    answered = client.get("/readyz")
    assert answered.status_code == 503 and answered.json() == {
        "status": "not ready",
        "checks": {"database": "down"},
    }
    responses = client.get("/openapi.json").json()["paths"]["/readyz"]["get"]["responses"]
    assert responses["503"]["content"] == responses["200"]["content"]
    assert responses["503"]["content"]["application/json"]["schema"]["required"] == ["status", "checks"]


def test_openapi_documents_the_503_of_an_unreachable_identity_provider(client: TestClient) -> None:
    """Found while fixing what the fuzz suite found: a private route answers 503 issuer-unavailable when the
    provider's keys cannot be fetched, and OpenAPI did not list it. Public routes check no token, but those
    that read a database answer 503 database-unavailable while it is away; health and metrics read none."""
    problem = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    document = client.get("/openapi.json").json()
    operational = {"/healthz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    seen_public = set()
    for path, method, operation in _operations(document):
        if path in operational:
            assert "503" not in operation["responses"], (method, path)
        elif path != "/readyz":
            assert operation["responses"]["503"]["content"] == problem, (method, path)
            seen_public |= set() if "security" in operation else {path}
    assert seen_public, "the test app has public routes besides health and metrics"


def test_a_route_that_answers_200_to_a_replay_documents_it() -> None:
    """Found by the fuzz suite: create routes answer 201, and 200 to the same request again, undocumented."""

    class Made(BaseModel):
        id: str

    router = APIRouter()

    @router.post("/things", status_code=201, response_model=Made, responses=replayed(Made, "Already made"))
    def make(response: Response) -> Made:
        response.status_code = 200
        return Made(id="t-1")

    app = create_app(settings=_settings(), title="replays", routers=[router], readiness=lambda: {})
    responses = TestClient(app).get("/openapi.json").json()["paths"]["/things"]["post"]["responses"]
    made = {"application/json": {"schema": {"$ref": "#/components/schemas/Made"}}}
    assert responses["200"] == {"description": "Already made", "content": made}
    assert responses["201"]["content"] == made


def test_openapi_can_document_openid_connect_beside_the_bearer_token() -> None:
    url = "https://auth.certifia.fr/.well-known/openid-configuration"
    document = TestClient(_app(openid_connect_url=url)).get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["openIdConnect"] == {"type": "openIdConnect", "openIdConnectUrl": url}
    assert document["paths"]["/members"]["post"]["security"] == [{"bearerAuth": []}, {"openIdConnect": []}]


# -- create_app ----------------------------------------------------------------------------------------------
def test_create_app_keeps_its_old_signature() -> None:
    app = create_app(settings=_settings(), title="old", routers=[_router()], readiness=lambda: {"db": "ok"})
    client = TestClient(app)
    assert client.get("/readyz").json() == {"status": "ready", "checks": {"db": "ok"}}
    assert (
        client.post(
            "/uploads", data={"title": "T"}, files={"file": ("t", b"x" * 2 * 1024 * 1024)}
        ).status_code
        == 201
    )
    assert _problem(client.get("/boom"), 500, "internal-error")


def test_a_path_that_no_route_has_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match=re.escape("/candidates/{id}/thesis")):
        _app(body_limits={"/candidates/{id}/thesis": 1024})
    with pytest.raises(ValueError, match="no route has the path /public/verification:"):
        _app(public_paths=["/public/verification"])
    with pytest.raises(ValueError, match="bytes"):
        _app(body_limits={"/uploads": -1})
    assert _app(public_paths=["/anything-below/"])  # a prefix may cover routes added later


@pytest.fixture()
def finished_spans() -> Iterator[Any]:
    """The spans ended while the test runs (the process's provider, as setup_telemetry sets it)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter.get_finished_spans
    exporter.shutdown()  # later spans are dropped


def test_a_request_is_one_server_span_without_asgi_send_and_receive_spans(finished_spans: Any) -> None:
    """Issue 15: the instrumentation's send/receive spans (three more per request, with nothing of their
    own) cost CPU on every request and filled the trace files; the server span keeps the route."""
    answer = TestClient(_app()).post("/members", json={"name": "Ada", "role": "jury"})
    assert answer.status_code == 201, answer.text
    names = [s.name for s in finished_spans()]
    assert names == ["POST /members"], names


def test_the_server_span_names_the_route_and_keeps_the_instrumentations_attributes(
    finished_spans: Any,
) -> None:
    from opentelemetry.trace import SpanKind, StatusCode

    answer = TestClient(_app()).get("/members/m-1", headers={"user-agent": "lms/1.0"})
    assert answer.status_code == 200, answer.text
    [span] = finished_spans()
    assert (span.name, span.kind, span.status.status_code) == (
        "GET /members/{member_id}",
        SpanKind.SERVER,
        StatusCode.UNSET,
    )
    assert span.parent is None
    attributes = dict(span.attributes or {})
    assert {
        k: attributes.get(k) for k in ("http.method", "http.route", "http.status_code", "http.target")
    } == {
        "http.method": "GET",
        "http.route": "/members/{member_id}",
        "http.status_code": 200,
        "http.target": "/members/m-1",
    }
    assert attributes["http.user_agent"] == "lms/1.0" and attributes["http.scheme"] == "http"


def test_the_server_span_continues_the_callers_trace_and_is_current_in_the_route(finished_spans: Any) -> None:
    """An LMS that sends ``traceparent`` finds certifia's spans in its own trace; the route's spans (and its
    outbox rows' trace context) are children of the request's."""
    from opentelemetry import trace

    router = APIRouter()

    @router.get("/work")
    def work() -> dict[str, str]:  # a sync route: it runs in the thread pool
        with trace.get_tracer("test").start_as_current_span("inner work"):
            return {"ok": "yes"}

    app = create_app(settings=_settings(), title="edges", routers=[router], readiness=lambda: {})
    caller_trace, caller_span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    answer = TestClient(app).get("/work", headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"})
    assert answer.status_code == 200, answer.text
    inner, server = finished_spans()
    assert server.name == "GET /work"
    assert format(server.context.trace_id, "032x") == caller_trace
    assert server.parent is not None and format(server.parent.span_id, "016x") == caller_span
    assert inner.parent is not None and inner.parent.span_id == server.context.span_id
    assert inner.context.trace_id == server.context.trace_id


def test_an_unhandled_error_marks_the_server_span_and_health_is_not_traced(finished_spans: Any) -> None:
    from opentelemetry.trace import StatusCode

    client = TestClient(_app(), raise_server_exceptions=False)
    assert client.get("/boom").status_code == 500
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    [span] = finished_spans()
    assert (span.name, span.status.status_code) == ("GET /boom", StatusCode.ERROR)
    assert dict(span.attributes or {})["http.status_code"] == 500
    assert [e.name for e in span.events] == ["exception"]
    assert client.get("/nowhere").status_code == 404
    assert finished_spans()[-1].name == "GET"  # no route: the method alone, as the instrumentation named it
