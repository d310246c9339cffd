"""RFC 9457 problem details for every error a service returns (``application/problem+json``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def _response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(
        problem.body(request.url.path),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers,
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return _response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors()]
        fields = ", ".join(e["field"] for e in errors)
        problem = Problem(
            422, "Invalid request", f"Invalid input: {fields}.", type="validation", errors=errors
        )
        return _response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed"}.get(
            exc.status_code, "HTTP error"
        )
        headers = dict(exc.headers) if exc.headers else None
        return _response(Problem(exc.status_code, title, str(exc.detail), headers=headers), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = Problem(500, "Internal error", "The service failed; the error was logged. Retry later.")
        return _response(problem, request)
