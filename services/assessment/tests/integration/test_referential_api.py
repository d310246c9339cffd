"""GET /referential: the whole document, one item by global id, filters, ETag and caching."""

from __future__ import annotations

from fastapi.testclient import TestClient

from certifia_shared.referential import load_referential
from certifia_shared.testing import auth

READER = auth("lms")
REF = load_referential()


def test_whole_referential_has_every_bloc_and_criterion(client: TestClient) -> None:
    response = client.get("/referential", headers=READER)
    assert response.status_code == 200
    body = response.json()
    assert [b["code"] for b in body["blocs"]] == ["1", "2", "3", "4", "5A", "5B"]
    assert sum(len(b["criteria"]) for b in body["blocs"]) == len(REF.criteria)
    assert body["rule"]["option_blocs"] == ["5A", "5B"]
    assert response.headers["cache-control"].startswith("private, max-age=")


def test_etag_gives_304_and_differs_per_filter(client: TestClient) -> None:
    first = client.get("/referential", headers=READER)
    etag = first.headers["etag"]
    again = client.get("/referential", headers={**READER, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    filtered = client.get("/referential?bloc=5B", headers=READER)
    assert filtered.headers["etag"] != etag
    assert [b["code"] for b in filtered.json()["blocs"]] == ["5B"]


def test_filter_by_evaluation_type(client: TestClient) -> None:
    body = client.get("/referential?evaluation_type=etude_de_cas", headers=READER).json()
    types = {e["type"] for b in body["blocs"] for e in b["evaluations"]}
    assert types == {"etude_de_cas"}
    listed = client.get("/referential/evaluations?type=etude_de_cas&bloc=2", headers=READER).json()
    expected = [e.id for e in REF.evaluations if e.type == "etude_de_cas" and e.bloc == "2"]
    assert [e["id"] for e in listed] == expected
    bad = client.get("/referential?evaluation_type=quiz", headers=READER)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "evaluation_type"


def test_items_by_global_id(client: TestClient) -> None:
    criterion = client.get("/referential/criteria/1.A4.C7.E4", headers=READER)
    assert criterion.status_code == 200
    assert criterion.json()["statement"] == REF.criterion("1.A4.C7.E4").statement
    assert client.get("/referential/competencies/5B.A3.C1", headers=READER).json()["code"] == "A3-C1"
    assert client.get("/referential/blocs/5A", headers=READER).json()["code"] == "5A"
    missing = client.get("/referential/criteria/1.A4.C7.E99", headers=READER)
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "global_id"


def test_reading_the_referential_needs_a_token(client: TestClient) -> None:
    assert client.get("/referential").status_code == 401


def test_an_unknown_activity_is_named_in_the_problem(client: TestClient) -> None:
    missing = client.get("/referential/activities/1.A99", headers=READER)
    assert missing.status_code == 404
    assert missing.json()["title"] == "Unknown activity"
    assert client.get("/referential/activities/1.A1", headers=READER).json()["code"] == "A1"


def test_the_304_of_the_referential_is_documented(client: TestClient) -> None:
    """Found while fixing what the fuzz suite found: every referential route answers 304 to its current ETag,
    which OpenAPI did not list."""
    first = client.get("/referential/evaluations", headers=READER)
    again = client.get("/referential/evaluations", headers={**READER, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/referential",
        "/referential/blocs/{code}",
        "/referential/evaluations",
        "/referential/{kind}/{global_id}",
    ):
        assert "Not modified" in paths[path]["get"]["responses"]["304"]["description"], path
