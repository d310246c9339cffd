"""The OIDC verifier against a local issuer (discovery + JWKS over HTTP on 127.0.0.1): what it accepts,
what it refuses and why, how it follows key rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from certifia_shared.auth import Principal
from certifia_shared.oidc import (
    MAX_LEEWAY_SECONDS,
    ClaimMapping,
    IssuerUnavailable,
    OidcVerifier,
    TokenRejected,
    parse_jwks,
)
from certifia_shared.oidc_testing import OMIT, LocalIssuer


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        yield running


@pytest.fixture
def fresh_issuer() -> Iterator[LocalIssuer]:
    """An issuer of one's own, for tests that rotate keys or count fetches."""
    with LocalIssuer() as running:
        yield running


@pytest.fixture(scope="module")
def verifier(issuer: LocalIssuer) -> OidcVerifier:
    return issuer.verifier()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refused(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(TokenRejected) as caught:
        verifier.principal(token)
    return caught.value.reason


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# ------------------------------------------------------------------------------------------ accepted ----
@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "EdDSA"])
def test_a_valid_token_becomes_a_principal(algorithm: Any) -> None:
    with LocalIssuer(algorithm=algorithm) as issuer:
        token = issuer.mint("lms-sub", ["lms"], client_id="demo-lms")
        assert issuer.verifier().principal(token) == Principal(
            subject="lms-sub", roles=frozenset({"lms"}), candidate_id=None, client_id="demo-lms"
        )


def test_roles_are_the_known_ones_and_the_candidate_binding_is_kept(
    issuer: LocalIssuer, verifier: OidcVerifier
) -> None:
    token = issuer.mint("c-1", ["candidate", "offline_access", "default-roles-certifia"], candidate_id="C-42")
    principal = verifier.principal(token)
    assert principal.roles == {"candidate"}
    assert principal.candidate_id == "C-42"


def test_the_tenant_falls_back_to_azp(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    token = issuer.mint("jury-1", ["jury"], azp="certifia-web")
    assert verifier.principal(token).client_id == "certifia-web"
    no_fallback = issuer.verifier(mapping=ClaimMapping(client_id_fallback=""))
    assert no_fallback.principal(token).client_id is None


def test_the_roles_claim_may_be_a_dotted_path_or_a_namespaced_name(issuer: LocalIssuer) -> None:
    keycloak = issuer.verifier(mapping=ClaimMapping(roles="realm_access.roles"))
    token = issuer.mint("o", OMIT, realm_access={"roles": ["officer", "uma_authorization"]})
    assert keycloak.principal(token).roles == {"officer"}
    assert keycloak.principal(issuer.mint("o", OMIT)).roles == frozenset()
    assert refused(keycloak, issuer.mint("o", OMIT, realm_access=5)) == "bad_claims"

    namespaced = issuer.verifier(mapping=ClaimMapping(roles="https://certifia.fr/roles"))
    token = issuer.mint("o", OMIT, **{"https://certifia.fr/roles": ["admin"]})
    assert namespaced.principal(token).roles == {"admin"}


def test_a_token_without_roles_has_none(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    assert verifier.principal(issuer.mint("nobody", OMIT)).roles == frozenset()


def test_an_audience_list_naming_the_api_is_accepted(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    token = issuer.mint("lms", ["lms"], aud=["account", "certifia-api"])
    assert verifier.principal(token).roles == {"lms"}


def test_clock_skew_within_the_leeway_is_accepted(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    now = int(time.time())
    assert verifier.principal(issuer.mint("a", ["jury"], exp=now - 10))
    assert verifier.principal(issuer.mint("a", ["jury"], nbf=now + 10, iat=now + 10))


# ------------------------------------------------------------------------------------------- refused ----
def test_an_expired_token_is_refused(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    assert refused(verifier, issuer.mint("a", ["jury"], ttl=-60)) == "expired"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_a_token_not_yet_valid_is_refused(issuer: LocalIssuer, verifier: OidcVerifier, claim: str) -> None:
    token = issuer.mint("a", ["jury"], **{claim: int(time.time()) + 300})
    assert refused(verifier, token) == "not_yet_valid"


@pytest.mark.parametrize("aud", ["other-api", ["account"], OMIT])
def test_a_token_for_another_audience_is_refused(
    issuer: LocalIssuer, verifier: OidcVerifier, aud: Any
) -> None:
    assert refused(verifier, issuer.mint("a", ["admin"], aud=aud)) == "bad_audience"


@pytest.mark.parametrize("iss", ["https://evil.example/realms/certifia", OMIT])
def test_a_token_from_another_issuer_is_refused(
    issuer: LocalIssuer, verifier: OidcVerifier, iss: Any
) -> None:
    assert refused(verifier, issuer.mint("a", ["admin"], iss=iss)) == "bad_issuer"


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_token_without_its_times_is_refused(
    issuer: LocalIssuer, verifier: OidcVerifier, claim: str
) -> None:
    assert refused(verifier, issuer.mint("a", ["admin"], **{claim: OMIT})) == "bad_claims"


def test_alg_none_is_refused(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    claims = issuer.payload("a", ["admin"])
    for alg in ("none", "None", "NONE"):
        token = f"{b64({'alg': alg, 'typ': 'JWT', 'kid': issuer.kid})}.{b64(claims)}."
        assert refused(verifier, token) == "bad_algorithm"


def test_hs256_signed_with_the_public_key_is_refused(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    """The classic confusion: a verifier that lets the token pick HMAC would take the public key as secret."""
    signing_input = (
        f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': issuer.kid})}.{b64(issuer.payload('a', ['admin']))}"
    )
    mac = hmac.new(issuer.public_key_pem(), signing_input.encode(), hashlib.sha256).digest()
    assert refused(verifier, f"{signing_input}.{b64(mac)}") == "bad_algorithm"


def test_an_algorithm_other_than_the_keys_is_refused(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    with LocalIssuer(algorithm="RS256") as rsa_issuer:  # an RS256 signature naming the ES256 key
        token = rsa_issuer.mint("a", ["admin"], iss=issuer.url, headers={"kid": issuer.kid})
    assert refused(verifier, token) == "bad_algorithm"


def test_a_tampered_payload_is_refused(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    header, _, signature = issuer.mint("a", ["jury"]).split(".")
    forged = b64(issuer.payload("a", ["admin"]))
    assert refused(verifier, f"{header}.{forged}.{signature}") == "bad_signature"


def test_a_token_signed_by_another_key_naming_the_issuers_kid_is_refused(
    issuer: LocalIssuer, verifier: OidcVerifier
) -> None:
    with LocalIssuer() as impostor:
        token = impostor.mint("a", ["admin"], iss=issuer.url, headers={"kid": issuer.kid})
    assert refused(verifier, token) == "bad_signature"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b.c",
        "a.b.c.d.e",  # JWE compact: encrypted tokens are not accepted
        f"{b64(b'[1]')}.{b64({})}.sig",
        "x" * 20000,
    ],
)
def test_a_malformed_token_is_refused(verifier: OidcVerifier, token: str) -> None:
    assert refused(verifier, token) == "malformed"


@pytest.mark.parametrize(
    "headers", [{"typ": "logout+jwt"}, {"typ": 5}, {"kid": 7}, {"crit": ["exp"], "exp": 1}]
)
def test_odd_headers_are_refused(
    issuer: LocalIssuer, verifier: OidcVerifier, headers: dict[str, Any]
) -> None:
    header = {"alg": "ES256", "kid": issuer.kid, **headers}  # refused before the signature is looked at
    assert (
        refused(verifier, f"{b64(header)}.{b64(issuer.payload('a', ['jury']))}.{b64(b'sig')}") == "malformed"
    )


def test_a_token_without_kid_uses_the_only_key_of_its_algorithm(
    issuer: LocalIssuer, verifier: OidcVerifier
) -> None:
    assert verifier.principal(issuer.mint("a", ["jury"], headers={"kid": OMIT, "typ": "JWT"})).roles == {
        "jury"
    }


MALFORMED_CLAIMS: list[tuple[str, dict[str, Any]]] = [
    ("roles 5", {"roles": 5}),
    ("roles null", {"roles": None}),
    ("roles nested", {"roles": [["admin"]]}),
    ("roles a string", {"roles": "admin"}),
    ("roles with an empty one", {"roles": [""]}),
    ("roles too long", {"roles": ["x" * 201]}),
    ("roles too many", {"roles": [f"r{i}" for i in range(101)]}),
    ("candidate_id a list", {"candidate_id": ["x"], "roles": ["candidate"]}),
    ("candidate_id empty", {"candidate_id": "", "roles": ["jury"]}),
    ("candidate_id blank", {"candidate_id": "   ", "roles": ["jury"]}),
    ("candidate_id too long", {"candidate_id": "x" * 201, "roles": ["jury"]}),
    ("candidate_id null", {"candidate_id": None, "roles": ["jury"]}),
    ("candidate_id a number", {"candidate_id": 42, "roles": ["candidate"]}),
    ("candidate without candidate_id", {"roles": ["candidate"]}),
    ("client_id a list", {"client_id": ["x"], "roles": ["lms"]}),
    ("client_id empty", {"client_id": "", "roles": ["lms"]}),
    ("client_id too long", {"client_id": "x" * 201, "roles": ["lms"]}),
    ("azp a list", {"azp": ["x"], "roles": ["lms"]}),
    ("sub missing", {"sub": OMIT}),
    ("sub a number", {"sub": 5}),
    ("sub empty", {"sub": ""}),
]


@pytest.mark.parametrize("overrides", [c for _, c in MALFORMED_CLAIMS], ids=[n for n, _ in MALFORMED_CLAIMS])
def test_malformed_claims_are_refused_not_crashed_on(
    issuer: LocalIssuer, verifier: OidcVerifier, overrides: dict[str, Any]
) -> None:
    claims = {**issuer.payload("someone"), **overrides}  # written as given: null, lists, numbers
    token = issuer.sign({name: value for name, value in claims.items() if value is not OMIT})
    with pytest.raises(TokenRejected) as caught:
        verifier.principal(token)
    assert caught.value.reason == "bad_claims"
    assert caught.value.problem().status == 401


def test_a_refusal_is_a_401_problem_naming_its_reason(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    with pytest.raises(TokenRejected) as caught:
        verifier.principal(issuer.mint("a", ["jury"], ttl=-60))
    problem = caught.value.problem()
    assert problem.status == 401
    assert problem.headers == {
        "WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired"'
    }
    assert problem.extensions == {"reason": "expired"}


# ------------------------------------------------------------------------------------------ settings ----
@pytest.mark.parametrize("leeway", [-1, MAX_LEEWAY_SECONDS + 1, 3600])
def test_the_leeway_is_bounded(issuer: LocalIssuer, leeway: float) -> None:
    with pytest.raises(ValueError, match="leeway"):
        issuer.verifier(leeway_seconds=leeway)


def test_the_leeway_applies(issuer: LocalIssuer) -> None:
    token = issuer.mint("a", ["jury"], exp=int(time.time()) - 90)
    assert refused(issuer.verifier(), token) == "expired"
    assert issuer.verifier(leeway_seconds=MAX_LEEWAY_SECONDS).principal(token).roles == {"jury"}


@pytest.mark.parametrize(
    "url", ["http://idp.example/realms/certifia", "ftp://127.0.0.1/x", "/realms/certifia", "idp.example"]
)
def test_the_issuer_must_be_https_except_on_loopback(url: str) -> None:
    with pytest.raises(ValueError):
        OidcVerifier(url, "certifia-api")
    OidcVerifier("https://idp.example/realms/certifia", "certifia-api")  # no network at construction
    OidcVerifier("http://localhost:8080/realms/certifia", "certifia-api")


def test_an_audience_is_required(issuer: LocalIssuer) -> None:
    with pytest.raises(ValueError, match="audience"):
        OidcVerifier(issuer.url, "")


@pytest.mark.parametrize("path", ["", "realm_access.", ".roles", "a..b"])
def test_a_claim_mapping_needs_names(path: str) -> None:
    with pytest.raises(ValueError):
        ClaimMapping(roles=path)


# ------------------------------------------------------------------------------------- keys, rotation ----
def test_keys_are_fetched_once_and_cached(fresh_issuer: LocalIssuer) -> None:
    verifier = fresh_issuer.verifier()
    for _ in range(20):
        verifier.principal(fresh_issuer.mint("a", ["jury"]))
    assert fresh_issuer.requests == {"discovery": 1, "jwks": 1}


def test_an_explicit_jwks_url_skips_discovery(fresh_issuer: LocalIssuer) -> None:
    verifier = fresh_issuer.verifier(jwks_url=fresh_issuer.jwks_url)
    verifier.principal(fresh_issuer.mint("a", ["jury"]))
    assert fresh_issuer.requests == {"discovery": 0, "jwks": 1}


def test_a_rotated_key_is_picked_up_by_its_unknown_kid(fresh_issuer: LocalIssuer) -> None:
    clock = Clock()
    verifier = fresh_issuer.verifier(clock=clock, refetch_interval_seconds=30)
    old_token = fresh_issuer.mint("a", ["jury"])
    verifier.principal(old_token)

    fresh_issuer.rotate()  # the JWKS now lists the new key beside the old one
    clock.now += 31
    assert verifier.principal(fresh_issuer.mint("a", ["officer"])).roles == {"officer"}
    assert verifier.principal(old_token).roles == {"jury"}
    assert fresh_issuer.requests["jwks"] == 2


def test_an_unknown_kid_refetches_at_most_once_per_interval(fresh_issuer: LocalIssuer) -> None:
    clock = Clock()
    verifier = fresh_issuer.verifier(clock=clock, refetch_interval_seconds=30)
    verifier.principal(fresh_issuer.mint("a", ["jury"]))
    clock.now += 31

    for _ in range(10):  # a flood of made-up kids costs the issuer one request
        assert (
            refused(verifier, fresh_issuer.mint("a", ["jury"], headers={"kid": "made-up"})) == "unknown_key"
        )
    assert fresh_issuer.requests["jwks"] == 2

    fresh_issuer.rotate(keep_previous=False)  # within the interval: the new key is not fetched yet
    new_token = fresh_issuer.mint("a", ["jury"])
    assert refused(verifier, new_token) == "unknown_key"
    clock.now += 31
    assert verifier.principal(new_token).roles == {"jury"}
    assert fresh_issuer.requests["jwks"] == 3


def test_a_retired_key_stops_verifying_once_the_keys_expire(fresh_issuer: LocalIssuer) -> None:
    clock = Clock()
    verifier = fresh_issuer.verifier(clock=clock, keys_ttl_seconds=300)
    old_token = fresh_issuer.mint("a", ["jury"])
    verifier.principal(old_token)
    fresh_issuer.rotate(keep_previous=False)
    assert verifier.principal(old_token)  # still cached
    clock.now += 301
    assert refused(verifier, old_token) == "unknown_key"


def test_cached_keys_outlive_an_issuer_outage(fresh_issuer: LocalIssuer) -> None:
    clock = Clock()
    verifier = fresh_issuer.verifier(clock=clock, keys_ttl_seconds=300, timeout_seconds=1)
    token = fresh_issuer.mint("a", ["jury"])
    verifier.principal(token)
    fresh_issuer.stop()
    clock.now += 301
    assert verifier.principal(token).roles == {"jury"}


def test_no_keys_and_no_issuer_is_unavailable_not_a_refusal() -> None:
    clock = Clock()
    with LocalIssuer() as gone:
        token = gone.mint("a", ["jury"])
        verifier = gone.verifier(timeout_seconds=1, clock=clock)
    with pytest.raises(IssuerUnavailable) as caught:
        verifier.principal(token)
    assert caught.value.problem().status == 503
    for _ in range(5):  # requests in the same second do not each wait for the issuer
        with pytest.raises(IssuerUnavailable):
            verifier.principal(token)
    assert verifier.keys.fetches == 1
    clock.now += 1.5
    with pytest.raises(IssuerUnavailable):
        verifier.principal(token)
    assert verifier.keys.fetches == 2
    with pytest.raises(IssuerUnavailable):
        verifier.warm()


def test_discovery_naming_another_issuer_is_refused(fresh_issuer: LocalIssuer) -> None:
    verifier = OidcVerifier(fresh_issuer.url + "/", fresh_issuer.audience)
    with pytest.raises(IssuerUnavailable, match="names the issuer"):
        verifier.principal(fresh_issuer.mint("a", ["jury"]))


def test_only_asymmetric_signature_keys_are_taken_from_a_jwks(issuer: LocalIssuer) -> None:
    good = issuer.verifier().keys
    good.refresh()
    es256 = issuer._document("/protocol/openid-connect/certs")["keys"][0]  # type: ignore[index]
    with LocalIssuer(algorithm="RS256") as rsa_issuer:
        rs256 = rsa_issuer._document("/protocol/openid-connect/certs")["keys"][0]  # type: ignore[index]
    document = {
        "keys": [
            {"kty": "oct", "k": b64(b"secret" * 8), "alg": "HS256", "kid": "hmac"},
            {"kty": "oct", "k": b64(b"secret" * 8), "kid": "hmac-no-alg"},
            {**rs256, "use": "enc", "alg": "RSA-OAEP", "kid": "enc"},
            {**rs256, "alg": "PS256", "kid": "ps"},
            {**rs256, "alg": "ES256", "kid": "mismatch"},
            {**es256, "key_ops": ["sign"], "kid": "ops"},
            {"kty": "RSA", "n": b64(b"\x01" * 64), "e": "AQAB", "kid": "small"},  # 512 bits
            "not a key",
            {**es256, "kid": "es"},
            {**{k: v for k, v in rs256.items() if k != "alg"}, "kid": "rs"},
        ]
    }
    assert [(k.key_id, k.algorithm_name) for k in parse_jwks(document)] == [("es", "ES256"), ("rs", "RS256")]
    broken: Any
    for broken in (None, [], {"keys": {}}, {"keys": "x"}):
        with pytest.raises(IssuerUnavailable):
            parse_jwks(broken)


def test_verification_is_thread_safe_across_a_rotation(fresh_issuer: LocalIssuer) -> None:
    verifier = fresh_issuer.verifier(refetch_interval_seconds=0)
    tokens = [fresh_issuer.mint(f"s{i}", ["jury"]) for i in range(20)]
    fresh_issuer.rotate()
    tokens += [fresh_issuer.mint(f"t{i}", ["officer"]) for i in range(20)]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for token in tokens:
                verifier.principal(token)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_verification_with_cached_keys_is_fast(issuer: LocalIssuer, verifier: OidcVerifier) -> None:
    tokens = [issuer.mint(f"s{i}", ["lms"], client_id="demo-lms") for i in range(1000)]
    verifier.principal(tokens[0])
    durations = []
    for token in tokens:
        start = time.perf_counter()
        verifier.principal(token)
        durations.append(time.perf_counter() - start)
    p50 = statistics.median(durations)
    print(f"ES256 verify + map, cached keys: p50 {p50 * 1e6:.0f} us over {len(tokens)} tokens")
    assert p50 < 0.005


# ------------------------------------------------------------------- on the event loop, without fetching ----
def test_without_fetching_a_token_is_verified_with_the_keys_at_hand_and_only_with_them(
    fresh_issuer: LocalIssuer,
) -> None:
    """Issue 15: the routes verify tokens on the event loop, which must never wait on the issuer."""
    clock = Clock()
    verifier = fresh_issuer.verifier(clock=clock, keys_ttl_seconds=300)
    token = fresh_issuer.mint("a", ["jury"])
    assert verifier.principal_without_fetching(token) is None  # no keys yet: never fetched on the loop
    assert fresh_issuer.requests["jwks"] == 0
    verifier.principal(token)
    principal = verifier.principal_without_fetching(token)
    assert principal is not None and principal.roles == {"jury"}
    assert (
        verifier.principal_without_fetching(fresh_issuer.mint("a", ["jury"], headers={"kid": "new"})) is None
    )
    clock.now += 301  # the keys are due for a refresh: that is the thread pool's
    assert verifier.principal_without_fetching(token) is None
    assert fresh_issuer.requests["jwks"] == 1


def test_without_fetching_a_bad_token_is_refused_as_by_the_full_check(
    fresh_issuer: LocalIssuer,
) -> None:
    verifier = fresh_issuer.verifier()
    verifier.principal(fresh_issuer.mint("a", ["jury"]))
    for bad in (
        fresh_issuer.mint("a", ["jury"], ttl=-120),
        "not-a-jwt",
        fresh_issuer.mint("a", ["jury"])[:-4],
    ):
        with pytest.raises(TokenRejected) as refused_here:
            verifier.principal_without_fetching(bad)
        assert refused_here.value.reason == refused(verifier, bad)


def test_without_fetching_a_cache_being_refreshed_is_not_waited_for(fresh_issuer: LocalIssuer) -> None:
    verifier = fresh_issuer.verifier()
    verifier.principal(fresh_issuer.mint("a", ["jury"]))
    token = fresh_issuer.mint("b", ["jury"])  # not verified yet
    with verifier.keys._lock:  # another thread fetching the keys
        assert verifier.principal_without_fetching(token) is None
    assert verifier.principal_without_fetching(token) is not None


# ----------------------------------------------------------------------------- verified tokens remembered ----
def _decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import jwt

    calls: list[int] = []
    real = jwt.decode

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    return calls


def test_a_verified_token_is_remembered_until_it_expires(
    fresh_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: an LMS sends the same token with every request; its signature was checked each time (half
    of the token's cost per request under bench-api). The verdict is the same until the token expires."""
    verifier = fresh_issuer.verifier(leeway_seconds=0)
    decodes = _decodes(monkeypatch)
    token = fresh_issuer.mint("a", ["jury"], ttl=1.5)
    for _ in range(5):
        assert verifier.principal(token).roles == {"jury"}
        assert verifier.principal_without_fetching(token) == verifier.principal(token)
    assert len(decodes) == 1
    other = fresh_issuer.mint("b", ["officer"])
    assert verifier.principal(other).subject == "b" and len(decodes) == 2  # each token its own verdict
    time.sleep(1.6)
    assert refused(verifier, token) == "expired"
    assert verifier.principal_without_fetching(other) is not None


def test_a_remembered_token_is_checked_again_once_its_keys_change_or_expire(
    fresh_issuer: LocalIssuer,
) -> None:
    clock = Clock()
    verifier = fresh_issuer.verifier(clock=clock, keys_ttl_seconds=300, refetch_interval_seconds=30)
    old_token = fresh_issuer.mint("a", ["jury"])
    assert verifier.principal(old_token)
    fresh_issuer.rotate(keep_previous=False)  # the issuer drops the old key
    clock.now += 31
    assert verifier.principal(fresh_issuer.mint("a", ["jury"]))  # its unknown kid refetches the keys
    assert refused(verifier, old_token) == "unknown_key"  # not the verdict remembered before the refresh

    token = fresh_issuer.mint("a", ["jury"])
    assert verifier.principal(token)
    fresh_issuer.rotate(keep_previous=False)
    clock.now += 301  # the keys expire: the token is checked against fresh ones
    assert refused(verifier, token) == "unknown_key"


def test_the_remembered_tokens_are_bounded(
    fresh_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from certifia_shared import oidc

    monkeypatch.setattr(oidc, "REMEMBERED_TOKENS", 3)
    verifier = fresh_issuer.verifier()
    tokens = [fresh_issuer.mint(f"s-{i}", ["jury"]) for i in range(5)]
    for t in tokens:
        verifier.principal(t)
    decodes = _decodes(monkeypatch)
    verifier.principal(tokens[-1])
    assert decodes == []
    verifier.principal(tokens[0])  # forgotten: verified again
    assert decodes == [1]
