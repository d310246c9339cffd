"""Bearer tokens with roles; who may call what."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from certifia_shared.auth import (
    Principal,
    decode_token,
    mint_token,
    require,
)
from certifia_shared.problems import Problem, install_problem_handlers
from certifia_shared.tenancy import VisibleCandidate
from certifia_shared.testing import TEST_SECRET, auth, token


def test_token_carries_roles_and_ids() -> None:
    principal = decode_token(
        mint_token(TEST_SECRET, subject="lms-1", roles=["lms"], client_id="moodle"), TEST_SECRET
    )
    assert principal == Principal(subject="lms-1", roles=frozenset({"lms"}), client_id="moodle")
    cand = decode_token(token("candidate", candidate_id="c-1"), TEST_SECRET)
    assert cand.has("candidate") and not cand.has("jury", "admin") and cand.candidate_id == "c-1"


def test_mint_refuses_unknown_roles_and_candidate_without_id() -> None:
    with pytest.raises(ValueError, match="unknown roles"):
        mint_token(TEST_SECRET, subject="x", roles=["root"])
    with pytest.raises(ValueError, match="candidate_id"):
        mint_token(TEST_SECRET, subject="x", roles=["candidate"])


def test_unknown_roles_in_a_token_are_ignored() -> None:
    raw = jwt.encode(
        {"iss": "certifia", "sub": "x", "roles": ["lms", "root"], "exp": 4102444800},
        TEST_SECRET.get_secret_value(),
        algorithm="HS256",
    )
    assert decode_token(raw, TEST_SECRET).roles == frozenset({"lms"})


def _unauthorized(raw: str, secret: SecretStr = TEST_SECRET, issuer: str = "certifia") -> Problem:
    with pytest.raises(Problem) as err:
        decode_token(raw, secret, issuer)
    assert err.value.status == 401
    assert err.value.headers == {"WWW-Authenticate": "Bearer"}
    return err.value


def test_expired_token_is_401_saying_so() -> None:
    expired = mint_token(TEST_SECRET, subject="x", roles=["jury"], ttl_seconds=-60)
    assert "expired" in _unauthorized(expired).detail


def test_invalid_tokens_are_401() -> None:
    other = SecretStr("another-secret-that-is-long-enough-0123456789")
    assert "invalid" in _unauthorized(token("jury"), secret=other).detail
    assert "invalid" in _unauthorized("not.a.token").detail
    _unauthorized(token("jury"), issuer="someone-else")
    no_exp = jwt.encode({"iss": "certifia", "sub": "x"}, TEST_SECRET.get_secret_value(), algorithm="HS256")
    _unauthorized(no_exp)
    none_alg = jwt.encode(
        {"iss": "certifia", "sub": "x", "roles": ["admin"], "exp": 4102444800}, None, "none"
    )
    _unauthorized(none_alg)


def _client() -> TestClient:
    app = FastAPI()
    app.state.settings = SimpleNamespace(auth_secret=TEST_SECRET, auth_issuer="certifia")
    app.state.tenants = SimpleNamespace(tenant_of=lambda cid: {"c-1": "moodle", "c-2": "moodle"}.get(cid))
    install_problem_handlers(app)

    @app.get("/jury-only")
    def jury_only(principal: Annotated[Principal, Depends(require("jury"))]) -> dict[str, str]:
        return {"subject": principal.subject}

    @app.get("/candidates/{candidate_id}")
    def candidate(
        candidate_id: VisibleCandidate, principal: Annotated[Principal, Depends(require("candidate", "lms"))]
    ) -> dict[str, str]:
        return {"id": candidate_id}

    return TestClient(app)


def test_require_without_token_is_401_problem() -> None:
    response = _client().get("/jury-only")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"
    assert _client().get("/jury-only", headers={"Authorization": "Basic abc"}).status_code == 401


def test_require_with_an_expired_token_is_401() -> None:
    expired = mint_token(TEST_SECRET, subject="x", roles=["jury"], ttl_seconds=-60)
    response = _client().get("/jury-only", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_require_wrong_role_is_403_naming_the_roles() -> None:
    response = _client().get("/jury-only", headers=auth("lms"))
    assert response.status_code == 403
    assert "jury" in response.json()["detail"]


def test_require_right_role_and_admin_always() -> None:
    client = _client()
    assert client.get("/jury-only", headers=auth("jury", subject="j-1")).json() == {"subject": "j-1"}
    assert client.get("/jury-only", headers=auth("admin")).status_code == 200
    assert client.get("/candidates/c-9", headers=auth("admin")).status_code == 200


def test_candidate_sees_only_own_id() -> None:
    client = _client()
    assert client.get("/candidates/c-1", headers=auth("candidate", candidate_id="c-1")).status_code == 200
    response = client.get("/candidates/c-2", headers=auth("candidate", candidate_id="c-1"))
    assert response.status_code == 403
    assert client.get("/candidates/c-2", headers=auth("lms", client_id="moodle")).status_code == 200
