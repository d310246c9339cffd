"""Identity and tenancy on the running stack, with tokens from the real Keycloak: an LMS obtains its token
with the client-credentials grant and sees only its own candidates in every service; a token the provider
did not sign gets nowhere; no service holds a signing secret."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from certifia_shared.oidc_testing import LocalIssuer

pytestmark = pytest.mark.e2e
SERVICES = ("enrolment", "assessment", "grading-compute", "thesis", "certification")


def test_another_lms_sees_none_of_a_candidate_in_any_service(stack: Any, demo: Any) -> None:
    owner, other = demo.headers("lms"), demo.headers("lms", lms="lms-other")
    body = {
        "external_id": f"tenant-{uuid.uuid4().hex[:8]}",
        "given_name": "Iris",
        "family_name": "Kato",
        "email": "iris@example.org",
    }
    cid = demo.call("POST", "enrolment", "/candidates", headers=owner, json=body)["id"]
    readable = {
        "enrolment": f"/candidates/{cid}",
        "assessment": f"/candidates/{cid}/progress",
        "thesis": f"/candidates/{cid}/thesis",
        "certification": f"/candidates/{cid}/progress",
    }
    for service, path in readable.items():
        demo.wait(
            f"{service} to know the candidate",
            lambda s=service, p=path: demo.http.get(stack.url(s) + p, headers=owner).status_code == 200,
        )
        foreign = demo.http.get(stack.url(service) + path, headers=other)
        unknown = demo.http.get(stack.url(service) + path.replace(cid, "no-such-candidate"), headers=other)
        assert foreign.status_code == unknown.status_code == 404, (service, foreign.text)
        assert foreign.json()["title"] == unknown.json()["title"]
    submission = demo.http.post(
        stack.url("assessment") + f"/candidates/{cid}/submissions",
        headers=other,
        data={"evaluation_id": "2.EV1"},
        files={"file": ("a.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")},
    )
    assert submission.status_code == 404  # measured before: graded, six criteria validated


def test_a_token_the_provider_did_not_sign_is_refused_everywhere(stack: Any, demo: Any) -> None:
    with LocalIssuer() as forger:
        forged = {"Authorization": "Bearer " + forger.mint("intruder", ["admin"], iss=stack.issuer)}
        paths = {
            "enrolment": "/candidates/x",
            "assessment": "/candidates/x/progress",
            "grading-compute": "/submissions/x/grading",
            "thesis": "/candidates/x/thesis",
            "certification": "/candidates/x/progress",
        }
        for service, path in paths.items():
            response = demo.http.get(stack.url(service) + path, headers=forged)
            assert response.status_code == 401, (service, response.text)


def test_no_service_is_given_a_signing_secret(stack: Any) -> None:
    for service in SERVICES:
        env = stack.env_for(stack.spec(service))
        assert "CERTIFIA_AUTH_SECRET" not in env
        assert env["OIDC_ISSUER"] == stack.issuer
