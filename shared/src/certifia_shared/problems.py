"""RFC 9457 problem details for every error a service returns (``application/problem+json``)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://certifia.fr/problems/"


class Problem(Exception):
    """Raise from any layer to answer with a problem document. ``field`` names the input at fault."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type: str = "about:blank",
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        """``extensions``: RFC 9457 extension members added to the body (e.g. the id of the resource that
        conflicts); they never replace a standard member."""
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type if type.startswith(("about:", "http")) else TYPE_BASE + type
        self.errors = errors or ([{"field": field, "message": detail}] if field else [])
        self.headers = headers
        self.extensions = extensions or {}

    def body(self, instance: str) -> dict[str, Any]:
        doc: dict[str, Any] = {
            **self.extensions,
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.errors:
            doc["errors"] = self.errors
        return doc


def not_found(what: str, ident: str, field: str) -> Problem:
    return Problem(
        404, f"{what} not found", f"No {what.lower()} with id {ident!r}.", type="not-found", field=field
    )


def conflict() -> Problem:
    """A unique constraint refused the write and :func:`certifia_shared.db.retry_on_conflict` gave up (or the
    route does not retry): nothing was written, and the same request again reads what the other one wrote."""
    return Problem(
        409,
        "Conflict",
        "A concurrent request changed the same thing at the same moment and this one could not be completed; "
        "nothing was written. Retry the request: it will see what the other one recorded.",
        type="conflict",
    )


def candidate_withdrawn(candidate_id: str, withdrawn_at: datetime) -> Problem:
    """What every service answers to a request for something new for a candidate who withdrew (enrolment's
    option, assessment's decisions, hand-ins and appeals, thesis missions, deposits and defences)."""
    when = withdrawn_at.isoformat()
    return Problem(
        409,
        "Candidate withdrawn",
        f"Candidate {candidate_id!r} withdrew from the certification on {when}: nothing new is accepted for "
        "them after a withdrawal. What they acquired before stays, and the results of work handed in before "
        "it (a grading verdict, an appeal already open) still land.",
        type="candidate-withdrawn",
        extensions={"withdrawn_at": when},
    )


def correlation_id() -> str:
    """The current trace id (32 hex digits), or a fresh random id when no trace is recorded."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else uuid.uuid4().hex


def internal_error(correlation: str) -> Problem:
    """The answer to an unhandled error: no message or stack, the id under which it was logged."""
    return Problem(
        500,
        "Internal error",
        f"The service failed; the error was logged under correlation id {correlation}. Retry later, and quote "
        "this id if it persists.",
        type="internal-error",
        headers={"X-Correlation-Id": correlation},
        extensions={"correlation_id": correlation},
    )


DATABASE_RETRY_AFTER_S = 2


def database_unavailable(correlation: str) -> Problem:
    """The answer while the service's database cannot be reached (a restart, a failover, a full pool):
    nothing was changed, and the same request may be sent again."""
    return Problem(
        503,
        "Database unavailable",
        "The service cannot reach its database at the moment (restarting, failing over or overloaded); "
        f"nothing was changed. Send the same request again after {DATABASE_RETRY_AFTER_S} s "
        f"(Retry-After); quote correlation id {correlation} if it persists.",
        type="database-unavailable",
        headers={"X-Correlation-Id": correlation, "Retry-After": str(DATABASE_RETRY_AFTER_S)},
        extensions={"correlation_id": correlation},
    )


def body_too_large(limit: int) -> Problem:
    return Problem(
        413,
        "Request body too large",
        f"The request body exceeds the limit of {limit} bytes ({_human(limit)}) for this endpoint.",
        type="body-too-large",
        errors=[{"field": "body", "in": "body", "message": f"larger than {limit} bytes"}],
        headers={"Connection": "close"},
        extensions={"limit_bytes": limit},
    )


def malformed_body(expected: str, reason: str) -> Problem:
    """A body that could not be parsed at all (before any field could be validated)."""
    return Problem(
        400,
        "Malformed request body",
        f"The request body could not be read as {expected}: {reason}",
        type="malformed-body",
        errors=[{"field": "body", "in": "body", "message": reason}],
    )


def unsupported_media_type(expected: str, sent: str | None) -> Problem:
    said = f"the request says {sent}" if sent else "the request sends no Content-Type"
    message = f"expected {expected}, got {sent or 'nothing'}"
    return Problem(
        415,
        "Unsupported media type",
        f"This endpoint reads {expected}; {said}.",
        type="unsupported-media-type",
        errors=[{"field": "Content-Type", "in": "header", "message": message}],
    )


def _human(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details, served as application/problem+json.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "description": "what kind of problem, e.g. https://certifia.fr/problems/validation",
        },
        "title": {"type": "string", "description": "a short summary of the kind of problem"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string", "description": "what went wrong with this request"},
        "instance": {"type": "string", "format": "uri-reference", "description": "the path requested"},
        "errors": {
            "type": "array",
            "description": "the inputs at fault",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "the field, dotted (jury.0.name), or a header",
                    },
                    "message": {"type": "string"},
                    "in": {"type": "string", "enum": ["body", "query", "path", "header", "cookie"]},
                },
            },
        },
        "correlation_id": {"type": "string", "description": "on a 500: the id the error was logged under"},
    },
    "additionalProperties": True,
}


_PATH_SAFE = "/!$&'()*+,;=:@"
"""What RFC 3986 allows unencoded in a path besides letters, digits and ``-._~`` (``pchar`` and ``/``)."""


def instance_of(path: str) -> str:
    """The path requested as a problem's ``instance``: a URI reference (RFC 9457), so what the server decoded
    (a space, a control character, non-ASCII, a literal ``%``) is percent-encoded again."""
    return quote(path, safe=_PATH_SAFE, errors="replace")


def problem_response(problem: Problem, instance: str) -> JSONResponse:
    """The ``application/problem+json`` response for ``problem`` (``instance``: the path requested, as the
    server decoded it)."""
    return JSONResponse(
        problem.body(instance_of(instance)),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers,
    )


def _response(problem: Problem, request: Request) -> JSONResponse:
    return problem_response(problem, request.url.path)


_LOCATIONS = {"body", "query", "path", "header", "cookie"}
_BODY_PARSE_FAILED = "There was an error parsing the body"  # FastAPI's detail when it cannot read a body
_TITLES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Unsupported media type",
}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:] or parts
    return ".".join(parts)


def _error(e: Any) -> dict[str, str]:
    loc = tuple(e.get("loc", ()))
    error = {"field": _field(loc), "message": str(e.get("msg", ""))}
    if loc and loc[0] in _LOCATIONS:
        error["in"] = str(loc[0])
    return error


def _media_type(value: str | None) -> str | None:
    return value.split(";", 1)[0].strip().lower() or None if value else None


def expected_body_type(request: Request) -> str | None:
    """The media type the matched route reads its body as (None: the route reads no body)."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    if body_field is None:
        return None
    media_type: str = getattr(body_field.field_info, "media_type", None) or "application/json"
    return media_type


def _fits(expected: str, sent: str) -> bool:
    if expected == "application/json":
        return sent == "application/json" or (sent.startswith("application/") and sent.endswith("+json"))
    forms = {"application/x-www-form-urlencoded", "multipart/form-data"}
    if expected in forms:  # a form without its file is a form: validation names the missing file
        return sent in forms
    return sent == expected


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length", "0")
    return "transfer-encoding" in request.headers or (length.isdigit() and int(length) > 0)


def _wrong_media_type(request: Request, errors: list[Any]) -> Problem | None:
    """415 when the body could not be validated because it was sent as another media type."""
    expected = expected_body_type(request)
    if expected is None or not any(tuple(e.get("loc", ()))[:1] == ("body",) for e in errors):
        return None
    sent = _media_type(request.headers.get("content-type"))
    if sent is None and not _has_body(request):
        return None  # no body at all: the missing fields say it best
    if sent is not None and _fits(expected, sent):
        return None
    return unsupported_media_type(expected, sent)


def _malformed_json(error: Any, doc: Any) -> Problem:
    loc = tuple(error.get("loc", ()))
    position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
    reason = str((error.get("ctx") or {}).get("error", "malformed JSON"))
    if isinstance(doc, bytes | bytearray):
        doc = bytes(doc).decode("utf-8", "replace")
    if isinstance(doc, str):
        line = doc.count("\n", 0, position) + 1
        column = position - doc.rfind("\n", 0, position)
        reason = f"{reason} at line {line}, column {column} (character {position})"
    return malformed_body("JSON", reason)


def validation_problem(request: Request, exc: RequestValidationError) -> Problem:
    """422 naming every field at fault; 400 for JSON that does not parse; 415 for a body of the wrong type."""
    raw = list(exc.errors())
    wrong_type = _wrong_media_type(request, raw)
    if wrong_type is not None:
        return wrong_type
    malformed = [e for e in raw if e.get("type") == "json_invalid"]
    if malformed:
        return _malformed_json(malformed[0], getattr(exc, "body", None))
    errors = [_error(e) for e in raw]
    fields = ", ".join(e["field"] for e in errors)
    return Problem(422, "Invalid request", f"Invalid input: {fields}.", type="validation", errors=errors)


def http_problem(request: Request, exc: StarletteHTTPException) -> Problem:
    """A Starlette/FastAPI HTTPException as a problem; body-parse and body-size failures name the body."""
    parse_error = isinstance(exc.__context__, MultiPartException) or exc.detail == _BODY_PARSE_FAILED
    if exc.status_code == 400 and parse_error:
        expected = expected_body_type(request) or "the expected format"
        reason = exc.detail if isinstance(exc.__context__, MultiPartException) else "it could not be parsed"
        return malformed_body(expected, str(reason))
    limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    if exc.status_code == 413 and isinstance(limit, int):  # FastAPI's own max_body_size, if a route sets one
        return body_too_large(limit)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "HTTP error"
    headers = dict(exc.headers) if exc.headers else None
    return Problem(exc.status_code, _TITLES.get(exc.status_code, phrase), str(exc.detail), headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return _response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _response(validation_problem(request, exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _response(http_problem(request, exc), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # create_app's edge middleware answers first; this one serves apps built without it
        correlation = correlation_id()
        log.exception(
            "unhandled error on %s %s (correlation id %s)", request.method, request.url.path, correlation
        )
        return _response(internal_error(correlation), request)
