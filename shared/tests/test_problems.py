"""RFC 9457 problem details for every error (application/problem+json)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from certifia_shared.problems import MEDIA_TYPE, Problem, install_problem_handlers, instance_of, not_found


class Body(BaseModel):
    option: str = Field(pattern=r"^5[AB]$")
    count: int


def _client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/conflict")
    def conflict() -> None:
        raise Problem(409, "Enrolment conflict", "It differs.", type="enrolment-conflict", field="email")

    @app.get("/appeal-conflict")
    def appeal_conflict() -> None:
        raise Problem(
            409,
            "Already appealed",
            "Decision d-1 is contested by appeal a-1.",
            type="already-appealed",
            field="decision_id",
            extensions={"appeal_id": "a-1", "status": 418},
        )

    @app.get("/missing/{candidate_id}")
    def missing(candidate_id: str) -> None:
        raise not_found("Candidate", candidate_id, "candidate_id")

    @app.post("/things")
    def things(body: Body) -> dict[str, str]:
        return {"option": body.option}

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPException(418, "short and stout")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    return TestClient(app, raise_server_exceptions=False)


def _is_problem(response) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    body = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == response.status_code
    return body  # type: ignore[no-any-return]


def test_problem_body_is_rfc_9457() -> None:
    response = _client().get("/conflict")
    assert response.status_code == 409
    body = _is_problem(response)
    assert body["type"] == "https://certifia.fr/problems/enrolment-conflict"
    assert body["title"] == "Enrolment conflict"
    assert body["instance"] == "/conflict"
    assert body["errors"] == [{"field": "email", "message": "It differs."}]


def test_not_found_names_the_field_and_id() -> None:
    body = _is_problem(_client().get("/missing/c-404"))
    assert body["status"] == 404
    assert "c-404" in body["detail"]
    assert body["errors"][0]["field"] == "candidate_id"


def test_validation_error_lists_every_field() -> None:
    response = _client().post("/things", json={"option": "5C"})
    assert response.status_code == 422
    body = _is_problem(response)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"option", "count"}
    assert "option" in body["detail"] and "count" in body["detail"]
    assert body["type"].endswith("/validation")


def test_http_exceptions_and_unknown_routes_are_problems() -> None:
    client = _client()
    assert _is_problem(client.get("/teapot"))["detail"] == "short and stout"
    assert _is_problem(client.get("/nowhere"))["status"] == 404
    assert _is_problem(client.delete("/conflict"))["status"] == 405


def test_unexpected_error_is_a_500_problem_without_internals() -> None:
    response = _client().get("/boom")
    assert response.status_code == 500
    body = _is_problem(response)
    assert "secret internals" not in response.text
    assert body["title"] == "Internal error"


def test_problem_without_field_has_no_errors_and_keeps_absolute_types() -> None:
    p = Problem(400, "Bad", "bad", type="https://example.org/p")
    assert p.type == "https://example.org/p"
    assert "errors" not in p.body("/x")
    assert Problem(400, "Bad", "bad").type == "about:blank"


def test_extension_members_are_added_but_never_replace_standard_ones() -> None:
    body = _is_problem(_client().get("/appeal-conflict"))
    assert body["appeal_id"] == "a-1"
    assert body["status"] == 409
    assert body["errors"] == [{"field": "decision_id", "message": "Decision d-1 is contested by appeal a-1."}]


def test_the_instance_is_a_uri_reference_whatever_the_path_held() -> None:
    """Found by the fuzz suite: the path as the server decoded it (a space, a control character, non-ASCII, a
    literal %) went into ``instance`` as it was, which is no URI reference (RFC 9457 asks for one)."""
    body = _is_problem(_client().get("/missing/a%20b%07%C3%A9%25"))
    assert body["instance"] == "/missing/a%20b%07%C3%A9%25"
    assert (
        body["errors"][0]["message"] == "No candidate with id 'a b\\x07é%'."
    )  # the detail says what was asked
    assert instance_of("/x/(a);b=c,d:e@f~g-h_i.j!k$l&m'n*o+p") == "/x/(a);b=c,d:e@f~g-h_i.j!k$l&m'n*o+p"
    assert instance_of("/x?y#z") == "/x%3Fy%23z"
