"""The client-credentials grant a service uses to call another (grading-compute -> assessment), against a
local issuer's token endpoint: asked once, kept until shortly before it expires, refused with a reason."""

from __future__ import annotations

import pytest

from certifia_shared.oidc_client import ClientCredentials, TokenRequestFailed
from certifia_shared.oidc_testing import LocalIssuer


def test_a_service_token_is_asked_for_once_and_verifies_with_the_service_role() -> None:
    with LocalIssuer() as issuer:
        issuer.client("grading-compute", "s3cret", "service")
        tokens = ClientCredentials(issuer.url, "grading-compute", "s3cret")
        first, second = tokens(), tokens()
        assert first == second and issuer.token_requests == 1
        principal = issuer.verifier().principal(first)
        assert principal.roles == frozenset({"service"}) and principal.client_id == "grading-compute"


def test_a_wrong_secret_is_refused_saying_so() -> None:
    with LocalIssuer() as issuer:
        issuer.client("grading-compute", "s3cret", "service")
        with pytest.raises(TokenRequestFailed, match="401"):
            ClientCredentials(issuer.url, "grading-compute", "guess").token()


def test_an_explicit_token_url_skips_discovery() -> None:
    with LocalIssuer() as issuer:
        issuer.client("c", "s", "service")
        ClientCredentials("http://127.0.0.1:1/nowhere", "c", "s", token_url=issuer.url + "/token").token()
        assert issuer.requests["discovery"] == 0


def test_no_secret_no_client() -> None:
    with pytest.raises(ValueError):
        ClientCredentials("http://127.0.0.1:1", "grading-compute", "")
