"""The verifier against the real Keycloak and the development realm (deploy/keycloak/certifia-realm.json).

    KEYCLOAK_DATA_DIR=/tmp/kc-test scripts/keycloak.sh start
    CERTIFIA_TEST_OIDC_ISSUER=$(KEYCLOAK_DATA_DIR=/tmp/kc-test scripts/keycloak.sh issuer) \\
    CERTIFIA_TEST_KEYCLOAK_ADMIN_PASSWORD_FILE=/tmp/kc-test/admin-password \\
        pytest -m keycloak shared/tests/test_keycloak_integration.py

The admin password file is optional: without it the candidate test (which creates a user) is skipped.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from certifia_shared.config import repo_root
from certifia_shared.oidc import OidcVerifier, TokenRejected

pytestmark = [pytest.mark.integration, pytest.mark.keycloak]

ISSUER = os.environ.get("CERTIFIA_TEST_OIDC_ISSUER", "")
if not ISSUER:
    pytest.skip(
        "CERTIFIA_TEST_OIDC_ISSUER is not set: start Keycloak (scripts/keycloak.sh start) and set it to "
        "$(scripts/keycloak.sh issuer)",
        allow_module_level=True,
    )

REALM_FILE = repo_root() / "deploy" / "keycloak" / "certifia-realm.json"
AUDIENCE = "certifia-api"


def realm() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(REALM_FILE.read_text())
    return document


def client_secret(client_id: str) -> str:
    """The development realm's fixed secret of a client, read from the realm file (one source)."""
    return str(next(c["secret"] for c in realm()["clients"] if c["clientId"] == client_id))


def user_password(username: str) -> str:
    """The development realm's fixed password of a demo user, read from the realm file."""
    user = next(u for u in realm()["users"] if u["username"] == username)
    return str(user["credentials"][0]["value"])


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def token_endpoint(http: httpx.Client) -> str:
    document = http.get(f"{ISSUER}/.well-known/openid-configuration").raise_for_status().json()
    assert document["issuer"] == ISSUER
    return str(document["token_endpoint"])


@pytest.fixture(scope="module")
def verifier() -> OidcVerifier:
    return OidcVerifier(ISSUER, AUDIENCE)


def grant(http: httpx.Client, url: str, **form: str) -> dict[str, Any]:
    response = http.post(url, data=form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def client_token(http: httpx.Client, url: str, client_id: str) -> str:
    body = grant(
        http,
        url,
        grant_type="client_credentials",
        client_id=client_id,
        client_secret=client_secret(client_id),
    )
    return str(body["access_token"])


def password_grant(
    http: httpx.Client, url: str, username: str, password: str, **extra: str
) -> dict[str, Any]:
    return grant(
        http,
        url,
        grant_type="password",
        client_id="certifia-web",
        username=username,
        password=password,
        **extra,
    )


def reason(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(TokenRejected) as caught:
        verifier.principal(token)
    return caught.value.reason


def test_an_lms_client_credentials_token_names_its_client(
    http: httpx.Client, token_endpoint: str, verifier: OidcVerifier
) -> None:
    demo = verifier.principal(client_token(http, token_endpoint, "demo-lms"))
    other = verifier.principal(client_token(http, token_endpoint, "lms-other"))
    nord = verifier.principal(client_token(http, token_endpoint, "lms-nord"))  # make bench-cohort's third
    assert (demo.roles, demo.client_id, demo.candidate_id) == ({"lms"}, "demo-lms", None)
    assert (other.roles, other.client_id) == ({"lms"}, "lms-other")
    assert (nord.roles, nord.client_id) == ({"lms"}, "lms-nord")
    assert len({demo.subject, other.subject, nord.subject}) == 3


def test_grading_compute_is_a_service(
    http: httpx.Client, token_endpoint: str, verifier: OidcVerifier
) -> None:
    principal = verifier.principal(client_token(http, token_endpoint, "grading-compute"))
    assert (principal.roles, principal.client_id) == ({"service"}, "grading-compute")


@pytest.mark.parametrize(
    ("username", "role"), [("jury-demo", "jury"), ("officer-demo", "officer"), ("admin-demo", "admin")]
)
def test_people_log_in_with_their_role(
    http: httpx.Client, token_endpoint: str, verifier: OidcVerifier, username: str, role: str
) -> None:
    body = password_grant(http, token_endpoint, username, user_password(username))
    principal = verifier.principal(body["access_token"])
    assert principal.roles == {role}
    assert principal.candidate_id is None
    assert principal.client_id == "certifia-web"  # no client_id claim for people: azp names the client


def test_a_wrong_client_secret_gets_no_token(http: httpx.Client, token_endpoint: str) -> None:
    response = http.post(
        token_endpoint,
        data={"grant_type": "client_credentials", "client_id": "demo-lms", "client_secret": "nope"},
    )
    assert response.status_code == 401


def test_an_lms_cannot_log_people_in(http: httpx.Client, token_endpoint: str) -> None:
    response = http.post(
        token_endpoint,
        data={
            "grant_type": "password",
            "client_id": "demo-lms",
            "client_secret": client_secret("demo-lms"),
            "username": "admin-demo",
            "password": user_password("admin-demo"),
        },
    )
    assert response.status_code in (400, 401)


def test_a_token_for_another_audience_is_refused(http: httpx.Client, token_endpoint: str) -> None:
    token = client_token(http, token_endpoint, "demo-lms")
    assert reason(OidcVerifier(ISSUER, "another-api"), token) == "bad_audience"


def test_an_id_token_or_a_refresh_token_is_not_an_access_token(
    http: httpx.Client, token_endpoint: str, verifier: OidcVerifier
) -> None:
    body = password_grant(http, token_endpoint, "jury-demo", user_password("jury-demo"), scope="openid")
    assert reason(verifier, body["id_token"]) == "bad_audience"  # aud: certifia-web
    assert reason(verifier, body["refresh_token"]) in {"bad_algorithm", "malformed"}  # HS512, realm secret


def test_a_tampered_token_is_refused(http: httpx.Client, token_endpoint: str, verifier: OidcVerifier) -> None:
    header, payload, signature = client_token(http, token_endpoint, "demo-lms").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert reason(verifier, f"{header}.{forged}.{signature}") == "bad_signature"


# ------------------------------------------------------------------------------ a candidate account ----
@pytest.fixture
def admin_token(http: httpx.Client) -> str:
    password_file = os.environ.get("CERTIFIA_TEST_KEYCLOAK_ADMIN_PASSWORD_FILE", "")
    if not password_file or not Path(password_file).is_file():
        pytest.skip("CERTIFIA_TEST_KEYCLOAK_ADMIN_PASSWORD_FILE is not set (<data dir>/admin-password)")
    base = ISSUER.rsplit("/realms/", 1)[0]
    body = grant(
        http,
        f"{base}/realms/master/protocol/openid-connect/token",
        grant_type="password",
        client_id="admin-cli",
        username="admin",
        password=Path(password_file).read_text().strip(),
    )
    return str(body["access_token"])


def test_a_candidate_account_carries_its_candidate_id(
    http: httpx.Client, token_endpoint: str, verifier: OidcVerifier, admin_token: str
) -> None:
    admin = ISSUER.replace("/realms/", "/admin/realms/")
    headers = {"Authorization": f"Bearer {admin_token}"}
    username, password = f"candidate-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    created = http.post(
        f"{admin}/users",
        headers=headers,
        json={
            "username": username,
            "enabled": True,
            "email": f"{username}@certifia.example",
            "emailVerified": True,
            "firstName": "Test",
            "lastName": "Candidate",
            "attributes": {"candidate_id": ["CAND-IT-1"]},
            "credentials": [{"type": "password", "value": password, "temporary": False}],
        },
    )
    assert created.status_code == 201, created.text
    user_url = created.headers["Location"]
    try:
        role = http.get(f"{admin}/roles/candidate", headers=headers).raise_for_status().json()
        http.post(f"{user_url}/role-mappings/realm", headers=headers, json=[role]).raise_for_status()
        principal = verifier.principal(
            password_grant(http, token_endpoint, username, password)["access_token"]
        )
        assert principal.roles == {"candidate"}  # default-roles-certifia, offline_access... are dropped
        assert principal.candidate_id == "CAND-IT-1"
    finally:
        http.delete(user_url, headers=headers)
