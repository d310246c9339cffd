"""Bearer access tokens of the identity provider, verified with its public keys; who may call what.

The verifier itself (signatures, algorithms, times, claims) is tested in test_oidc.py; here, how a
service's routes use it: 401 problems saying why, 403 naming the roles, a malformed token never a 500.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from certifia_shared.auth import Principal, require
from certifia_shared.oidc_testing import OMIT
from certifia_shared.problems import install_problem_handlers
from certifia_shared.tenancy import VisibleCandidate
from certifia_shared.testing import auth, token
from certifia_shared.testing import test_issuer as local_issuer


def _client() -> TestClient:
    app = FastAPI()
    app.state.verifier = local_issuer().verifier()
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


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def test_require_without_token_is_401_problem() -> None:
    response = _client().get("/jury-only")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert _client().get("/jury-only", headers={"Authorization": "Basic abc"}).status_code == 401


def test_require_with_an_expired_token_is_401_saying_so() -> None:
    expired = token("jury", ttl=-120)
    response = _client().get("/jury-only", headers=bearer(expired))
    assert response.status_code == 401
    assert "expired" in response.headers["www-authenticate"] + response.text


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": 5},
        {"roles": None},
        {"roles": [["admin"]]},
        {"client_id": ["x"]},
        {"candidate_id": {"id": "c-1"}},
        {"sub": OMIT},
        {"aud": "another-api"},
        {"iss": "http://127.0.0.1:1/realms/other"},
    ],
)
def test_a_correctly_signed_token_with_odd_claims_is_401_not_a_500(claims: dict[str, object]) -> None:
    """Measured before: roles = 5, null or [["admin"]] raised TypeError; client_id = ["x"] reached the
    database as a list (ProgrammingError)."""
    odd = dict(claims)
    raw = local_issuer().mint("x", odd.pop("roles", ["admin"]), **odd)
    response = _client().get("/candidates/c-1", headers=bearer(raw))
    assert response.status_code == 401, response.text


def test_a_token_of_another_issuer_is_401() -> None:
    from certifia_shared.oidc_testing import LocalIssuer

    with LocalIssuer() as stranger:
        response = _client().get("/jury-only", headers=bearer(stranger.mint("x", ["jury"])))
    assert response.status_code == 401


def test_require_wrong_role_is_403_naming_the_roles() -> None:
    response = _client().get("/jury-only", headers=auth("lms"))
    assert response.status_code == 403
    assert "jury" in response.json()["detail"]


def test_require_right_role_and_admin_always() -> None:
    client = _client()
    assert client.get("/jury-only", headers=auth("jury", subject="j-1")).json() == {"subject": "j-1"}
    assert client.get("/jury-only", headers=auth("admin")).status_code == 200
    assert client.get("/candidates/c-9", headers=auth("admin")).status_code == 200


def test_unknown_roles_in_a_token_are_ignored() -> None:
    raw = local_issuer().mint("x", ["jury", "root", "default-roles-certifia"])
    assert _client().get("/jury-only", headers=bearer(raw)).status_code == 200


def test_candidate_sees_only_own_id() -> None:
    client = _client()
    assert client.get("/candidates/c-1", headers=auth("candidate", candidate_id="c-1")).status_code == 200
    response = client.get("/candidates/c-2", headers=auth("candidate", candidate_id="c-1"))
    assert response.status_code == 403
    assert client.get("/candidates/c-2", headers=auth("lms", client_id="moodle")).status_code == 200


def test_test_tokens_refuse_unknown_roles_and_a_candidate_without_id() -> None:
    with pytest.raises(ValueError, match="unknown roles"):
        token("root")
    with pytest.raises(ValueError, match="candidate_id"):
        token("candidate")


def test_a_request_uses_the_thread_pool_only_for_what_may_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15: each sync dependency was a trip through the thread pool and back (a candidate-scoped read
    made four: the tenancy check, the role check, the route, its answer's validation). The token is checked
    on the event loop once the keys are at hand; the pool runs the route, and what reads or fetches."""
    import anyio.to_thread

    trips: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(getattr(func, "func", func), "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    client = _client()

    def trips_of(*roles: str, **kwargs: Any) -> list[str]:
        trips.clear()
        assert client.get("/candidates/c-1", headers=auth(*roles, **kwargs)).status_code == 200
        return [t for t in trips if t != "validate"]  # FastAPI validates a sync route's answer in the pool

    assert trips_of("admin") == ["principal_from_request", "_run_sync_endpoint"]  # the keys: fetched there
    assert trips_of("admin") == ["_run_sync_endpoint"]
    assert trips_of("candidate", candidate_id="c-1") == ["_run_sync_endpoint"]
    assert trips_of("lms", client_id="moodle") == ["check_visible", "_run_sync_endpoint"]  # reads the owner
