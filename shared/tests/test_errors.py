"""The error map create_app registers: the most specific class wins, Conflict has a default, the rest is a
500."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from certifia_shared.config import ServiceSettings
from certifia_shared.db import Conflict
from certifia_shared.errors import ErrorMap, problem_for, withdrawn
from certifia_shared.problems import MEDIA_TYPE, Problem
from certifia_shared.testing import test_issuer as local_issuer
from certifia_shared.web import create_app


class Refused(Exception):
    pass


class RefusedTooLarge(Refused):
    def __init__(self, limit: int) -> None:
        super().__init__(f"over {limit}")
        self.limit = limit


class RefusedOtherwise(Refused):
    pass


class Withdrawn(Exception):
    def __init__(self, candidate_id: str, withdrawn_at: datetime) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id
        self.withdrawn_at = withdrawn_at


WHEN = datetime(2026, 11, 20, 10, tzinfo=UTC)
RAISED: dict[str, Exception] = {
    "too-large": RefusedTooLarge(10),
    "otherwise": RefusedOtherwise("no"),
    "conflict": Conflict("UNIQUE constraint failed: things.id"),
    "withdrawn": Withdrawn("cand-1", WHEN),
    "unmapped": LookupError("secret internals"),
}
# the subclass is listed after its base on purpose: the order of the map does not decide, the class does
ERRORS: ErrorMap = {
    Refused: lambda exc: Problem(422, "Refused", str(exc), type="refused", field="thing"),
    RefusedTooLarge: lambda exc: Problem(413, "Too large", str(exc), extensions={"limit": exc.limit}),
    Withdrawn: withdrawn,
}


def _app(errors: ErrorMap) -> FastAPI:
    router = APIRouter()

    @router.post("/things/{what}")
    def raise_it(what: str) -> None:
        raise RAISED[what]

    settings = ServiceSettings.model_construct(service_name="errors-test", oidc_issuer=local_issuer().url)
    return create_app(settings=settings, title="errors", routers=[router], readiness=dict, errors=errors)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(_app(ERRORS), raise_server_exceptions=False)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["instance"] == response.request.url.path
    return body


def test_the_most_specific_class_mapped_answers(client: TestClient) -> None:
    body = _problem(client.post("/things/too-large"), 413)
    assert body["title"] == "Too large" and body["limit"] == 10
    # a subclass that has no entry of its own gets its base's answer
    body = _problem(client.post("/things/otherwise"), 422)
    assert body["type"].endswith("/refused") and body["errors"] == [{"field": "thing", "message": "no"}]
    assert problem_for(ERRORS, RefusedTooLarge(1)) is not None
    assert problem_for(ERRORS, ValueError("x")) is None


def test_a_conflict_left_after_the_retries_is_a_409_without_the_database_message(client: TestClient) -> None:
    response = client.post("/things/conflict")
    body = _problem(response, 409)
    assert body["type"] == "https://certifia.fr/problems/conflict" and body["title"] == "Conflict"
    assert "Retry" in body["detail"] and "UNIQUE" not in response.text


def test_a_service_may_answer_conflict_its_own_way() -> None:
    own: ErrorMap = {Conflict: lambda exc: Problem(409, "Taken", "Someone else took it.", type="taken")}
    client = TestClient(_app(own), raise_server_exceptions=False)
    assert _problem(client.post("/things/conflict"), 409)["type"].endswith("/taken")
    assert _problem(client.post("/things/too-large"), 500)["type"].endswith("/internal-error")


def test_an_unmapped_exception_is_still_the_logged_500(client: TestClient) -> None:
    response = client.post("/things/unmapped")
    body = _problem(response, 500)
    assert body["type"].endswith("/internal-error") and body["correlation_id"]
    assert response.headers["X-Correlation-Id"] == body["correlation_id"]
    assert "secret internals" not in response.text


def test_the_withdrawn_candidate_is_one_shape(client: TestClient) -> None:
    body = _problem(client.post("/things/withdrawn"), 409)
    assert body["type"] == "https://certifia.fr/problems/candidate-withdrawn"
    assert body["title"] == "Candidate withdrawn"
    assert body["withdrawn_at"] == "2026-11-20T10:00:00+00:00"
    assert "withdrew from the certification on 2026-11-20T10:00:00+00:00" in body["detail"]
    assert "nothing new is accepted" in body["detail"] and "still land" in body["detail"]


@pytest.mark.parametrize("key", [Exception, Problem, KeyError("x")])
def test_what_cannot_be_mapped_is_refused_at_start(key: Any) -> None:
    with pytest.raises(ValueError):
        _app({key: lambda exc: Problem(400, "x", "x")})
