"""One map per service from its domain errors to problems, registered once by ``create_app``.

Routes let the use case's refusals propagate; the map answers them::

    ERRORS: ErrorMap = {
        UnknownCandidate: unknown_candidate,
        CandidateWithdrawn: withdrawn,
        ...
    }
    create_app(..., errors=ERRORS)

The most specific class mapped wins (as an ``except`` clause would: the first of the exception's MRO in the
map), so a subclass may have its own answer beside its base. :data:`DEFAULT_ERRORS` holds what every
service answers alike (the :class:`~certifia_shared.db.Conflict` left after ``retry_on_conflict`` gave up);
a service's own entry replaces a default. An exception nobody mapped stays the 500 problem, logged under its
correlation id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from certifia_shared.db import Conflict
from certifia_shared.problems import Problem, candidate_withdrawn, conflict, not_found, problem_response

ProblemFactory = Callable[[Any], Problem]
"""Builds the problem for one exception (typed ``Any``: each factory takes its own exception class)."""
ErrorMap = Mapping[type[Exception], ProblemFactory]

_HANDLED_ELSEWHERE = (Problem, RequestValidationError, StarletteHTTPException)


class Withdrawal(Protocol):
    """What a service's own ``CandidateWithdrawn`` carries for the shared problem."""

    @property
    def candidate_id(self) -> str: ...

    @property
    def withdrawn_at(self) -> datetime: ...


class CandidateReference(Protocol):
    """What a service's own ``UnknownCandidate`` carries for the shared problem."""

    @property
    def candidate_id(self) -> str: ...


def withdrawn(exc: Withdrawal) -> Problem:
    """The one answer to a withdrawn candidate (map each service's ``CandidateWithdrawn`` to it)."""
    return candidate_withdrawn(exc.candidate_id, exc.withdrawn_at)


def unknown_candidate(exc: CandidateReference) -> Problem:
    """The one answer to a candidate this service does not know (map each service's ``UnknownCandidate``)."""
    return not_found("Candidate", exc.candidate_id, "candidate_id")


DEFAULT_ERRORS: ErrorMap = {Conflict: lambda _exc: conflict()}


def _check(errors: ErrorMap) -> None:
    for klass in errors:
        if not (isinstance(klass, type) and issubclass(klass, Exception)):
            raise ValueError(f"the error map's keys are exception classes, not {klass!r}")
        if klass is Exception or issubclass(klass, _HANDLED_ELSEWHERE):
            raise ValueError(
                f"{klass.__name__} cannot be mapped: an unexpected error stays the logged 500, and problems, "
                "validation and HTTP errors have their own handlers"
            )


def problem_for(errors: ErrorMap, exc: Exception) -> Problem | None:
    """The problem the most specific class of ``exc`` mapped in ``errors`` gives, or None when none is."""
    for klass in type(exc).__mro__:
        factory = errors.get(klass)
        if factory is not None:
            return factory(exc)
    return None


def install_error_map(app: FastAPI, errors: ErrorMap) -> None:
    """One exception handler per mapped class (the most specific first), each answering with the shared
    problem response; :data:`DEFAULT_ERRORS` beneath ``errors``."""
    merged: dict[type[Exception], ProblemFactory] = {**DEFAULT_ERRORS, **errors}
    _check(merged)

    async def answer(request: Request, exc: Exception) -> JSONResponse:
        problem = problem_for(merged, exc)
        if problem is None:  # pragma: no cover - registered only for mapped classes
            raise exc
        return problem_response(problem, request.url.path)

    for klass in sorted(merged, key=lambda k: len(k.__mro__), reverse=True):
        app.add_exception_handler(klass, answer)
