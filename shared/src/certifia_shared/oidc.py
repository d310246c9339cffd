"""Verify OAuth 2.0 / OpenID Connect access tokens against the issuer's published keys (JWKS).

No service holds a signing key: a verifier needs the issuer URL, the audience the API answers to
(``certifia-api``) and a :class:`ClaimMapping`. Keys come from the issuer's discovery document
(``<issuer>/.well-known/openid-configuration`` -> ``jwks_uri``; an explicit JWKS URL may replace it), are
cached for ``keys_ttl_seconds``, and fetched again, at most once per ``refetch_interval_seconds``, when a
token names a key id the cache does not hold (the issuer rotated its keys). Asymmetric signatures only
(RS256, ES256, EdDSA): never HS*, never ``none``, and never a key named by the token itself (jku, jwk, x5u).

Every refusal is a :class:`TokenRejected` (answer 401) with one short ``reason``; when the issuer cannot be
reached and no key is cached, :class:`IssuerUnavailable` (answer 503: the token may well be good).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from jwt import PyJWK
from jwt.exceptions import InvalidJTIError, InvalidSubjectError

from certifia_shared.auth import ROLES, Principal
from certifia_shared.problems import Problem

log = logging.getLogger(__name__)

ALGORITHMS: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
# the key type (and curve) each algorithm may be verified with
_KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "EdDSA": ("OKP", "Ed25519"),
}
MIN_RSA_BITS = 2048
MAX_LEEWAY_SECONDS = 120.0
MAX_TOKEN_CHARS = 16 * 1024
MAX_DOCUMENT_BYTES = 512 * 1024
MAX_CLAIM_CHARS = 200  # candidate_id, client_id, each role
MAX_SUBJECT_CHARS = 255
MAX_ROLES = 100
NO_KEYS_RETRY_SECONDS = 1.0
REMEMBERED_TOKENS = 4096  # verified tokens remembered (by digest), the least recently used forgotten
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_TOKEN_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})

Reason = Literal[
    "malformed",  # not a signed JWT we can read (encoding, header, JSON)
    "bad_algorithm",  # alg outside RS256/ES256/EdDSA (none, HS256...) or not the key's
    "unknown_key",  # no published key for the token's kid, even after a refetch
    "bad_signature",
    "expired",
    "not_yet_valid",  # nbf or iat in the future (beyond the leeway)
    "bad_issuer",
    "bad_audience",
    "bad_claims",  # a required claim missing, or one of the wrong shape (roles, candidate_id, sub...)
]


class TokenRejected(Exception):
    """The token cannot be trusted: answer 401. ``reason`` is a short code, ``detail`` one sentence."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: Reason = reason
        self.detail = detail

    def problem(self) -> Problem:
        return Problem(
            401,
            "Unauthorized",
            f"The bearer token was refused ({self.reason.replace('_', ' ')}): {self.detail}",
            type="unauthorized",
            headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{self.reason}"'},
            extensions={"reason": self.reason},
        )


class IssuerUnavailable(Exception):
    """The issuer's discovery document or keys could not be had and none are cached: answer 503."""

    def problem(self) -> Problem:
        return Problem(
            503,
            "Service Unavailable",
            "The identity provider's keys cannot be fetched; try again shortly.",
            type="issuer-unavailable",
            headers={"Retry-After": "5"},
        )


# ------------------------------------------------------------------------------------------- claims ----
_MISSING = object()


@dataclass(frozen=True)
class ClaimMapping:
    """Which claims of a verified token say who calls: the one place a provider's token shape meets
    :class:`~certifia_shared.auth.Principal`.

    Each name is a claim, or a dotted path into nested objects (``realm_access.roles`` is Keycloak's
    built-in roles claim); a claim whose own name holds dots (``https://certifia.fr/roles``) is found first.
    ``client_id_fallback`` (``azp``: the client the token was issued to) names the tenant when
    ``client_id`` is absent; "" for none.
    """

    roles: str = "roles"
    candidate_id: str = "candidate_id"
    client_id: str = "client_id"
    client_id_fallback: str = "azp"
    known_roles: frozenset[str] = ROLES

    def __post_init__(self) -> None:
        for name in ("roles", "candidate_id", "client_id"):
            path = getattr(self, name)
            if not path or any(not part for part in path.split(".")):
                raise ValueError(f"claim mapping {name}={path!r}: a claim name or dotted path is needed")

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        """The caller the claims describe; :class:`TokenRejected` (``bad_claims``) for any odd shape."""
        subject = _text(claims.get("sub", _MISSING), "sub", MAX_SUBJECT_CHARS, required=True)
        assert subject is not None
        roles = self._roles(_lookup(claims, self.roles))
        candidate_id = _text(_lookup(claims, self.candidate_id), self.candidate_id, MAX_CLAIM_CHARS)
        client_id = _text(_lookup(claims, self.client_id), self.client_id, MAX_CLAIM_CHARS)
        if client_id is None and self.client_id_fallback:
            client_id = _text(
                claims.get(self.client_id_fallback, _MISSING), self.client_id_fallback, MAX_CLAIM_CHARS
            )
        if "candidate" in roles and candidate_id is None:
            raise TokenRejected("bad_claims", f"a candidate token must carry {self.candidate_id}")
        return Principal(subject=subject, roles=roles, candidate_id=candidate_id, client_id=client_id)

    def _roles(self, value: Any) -> frozenset[str]:
        if value is _MISSING:
            return frozenset()
        if not isinstance(value, list) or len(value) > MAX_ROLES:
            raise TokenRejected("bad_claims", f"{self.roles} must be a list of at most {MAX_ROLES} strings")
        for role in value:
            if not isinstance(role, str) or not role or len(role) > MAX_CLAIM_CHARS:
                raise TokenRejected(
                    "bad_claims", f"{self.roles} must hold strings of 1-{MAX_CLAIM_CHARS} chars"
                )
        return frozenset(value) & self.known_roles


def _lookup(claims: Mapping[str, Any], path: str) -> Any:
    if path in claims:
        return claims[path]
    value: Any = claims
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(value, Mapping):
            raise TokenRejected("bad_claims", f"{'.'.join(parts[:depth])} must be an object")
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def _text(value: Any, name: str, max_chars: int, *, required: bool = False) -> str | None:
    if value is _MISSING:
        if required:
            raise TokenRejected("bad_claims", f"the token has no {name}")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise TokenRejected("bad_claims", f"{name} must be a non-empty string of at most {max_chars} chars")
    return value


# --------------------------------------------------------------------------------------------- keys ----
def _check_url(url: str, what: str, allow_insecure_http: bool) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what} must be an absolute http(s) URL, not {url!r}")
    if parts.scheme == "http" and not (allow_insecure_http or _loopback(parts.hostname)):
        raise ValueError(f"{what} must use https (plain http only on 127.0.0.1/localhost): {url!r}")
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an error: keys come from the configured place only


_OPENER = urllib.request.build_opener(_NoRedirect)
_DIRECT = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))


def fetch_json(url: str, timeout: float) -> Any:
    """GET a JSON document (no redirects, at most MAX_DOCUMENT_BYTES); IssuerUnavailable otherwise."""
    host = urllib.parse.urlsplit(url).hostname or ""
    opener = _DIRECT if _loopback(host) else _OPENER
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "certifia"})
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
        if len(body) > MAX_DOCUMENT_BYTES:
            raise ValueError("document too large")
        return json.loads(body)
    except (OSError, ValueError, urllib.error.URLError) as error:
        raise IssuerUnavailable(f"GET {url}: {error}") from None


def parse_jwks(document: Any) -> list[PyJWK]:
    """The signature keys of a JWK set that we may use (RS256 >= 2048 bits, ES256 P-256, EdDSA Ed25519)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise IssuerUnavailable("the JWKS document has no 'keys' list")
    usable = []
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        if "key_ops" in jwk and "verify" not in (jwk["key_ops"] or []):
            continue
        alg = jwk.get("alg") or _infer_alg(jwk)
        if not isinstance(alg, str) or not _fits(alg, jwk):
            continue
        try:
            key = PyJWK(jwk, algorithm=alg)
        except jwt.PyJWTError as error:
            log.warning("skipping JWK kid=%s: %s", jwk.get("kid"), error)
            continue
        if alg == "RS256" and key.key.key_size < MIN_RSA_BITS:
            log.warning("skipping JWK kid=%s: RSA key under %d bits", jwk.get("kid"), MIN_RSA_BITS)
            continue
        usable.append(key)
    return usable


def _fits(alg: str, jwk: dict[str, Any]) -> bool:
    """``alg`` is one we accept and ``jwk`` is of its key type (and curve)."""
    if alg not in _KEY_TYPES:
        return False
    kty, crv = _KEY_TYPES[alg]
    return jwk.get("kty") == kty and (crv is None or jwk.get("crv") == crv)


def _infer_alg(jwk: dict[str, Any]) -> str | None:
    return next((alg for alg in _KEY_TYPES if _fits(alg, jwk)), None)


class JwksCache:
    """The issuer's keys, refreshed after ``ttl`` and, rate-limited, when a token names an unknown kid.
    A failed refresh keeps the keys it has (the provider may be briefly away). Thread-safe."""

    def __init__(
        self,
        locate: Callable[[], str],
        *,
        ttl: float,
        refetch_interval: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._locate = locate
        self._ttl = ttl
        self._interval = refetch_interval
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[PyJWK] = []
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last attempt, successful or not
        self._generation = 0  # one more at each successful fetch
        self.fetches = 0

    def key(self, kid: str | None, alg: str) -> PyJWK:
        return self.keyed(kid, alg)[0]

    def keyed(self, kid: str | None, alg: str) -> tuple[PyJWK, int]:
        """:meth:`key`, and the generation of the keys it was found among (see :meth:`current`)."""
        with self._lock:
            now = self._clock()
            if self._fetched_at is None:
                # no keys yet (first token, or the issuer was away): one try a second, not one per request
                if self._tried_at is not None and now - self._tried_at < NO_KEYS_RETRY_SECONDS:
                    raise IssuerUnavailable("no keys yet; the last attempt to fetch them failed")
                self._refresh(now)
            elif now - self._fetched_at >= self._ttl and self._may_try(now):
                self._refresh(now)
            found = self._find(kid, alg)
            if found is None and self._may_try(now):
                self._refresh(now)
                found = self._find(kid, alg)
            generation = self._generation
        if found is None:
            raise TokenRejected("unknown_key", f"the issuer publishes no {alg} key with kid {kid!r}")
        return found, generation

    def current(self, generation: int) -> bool:
        """Whether the keys of ``generation`` are still the ones :meth:`key` would look in, unexpired. Reads
        without the lock: a stale answer only sends a token to be verified again."""
        fetched_at = self._fetched_at
        return (
            generation == self._generation
            and fetched_at is not None
            and self._clock() - fetched_at < self._ttl
        )

    def cached(self, kid: str | None, alg: str) -> tuple[PyJWK, int] | None:
        """:meth:`keyed`, when the key is found without fetching and no other thread holds the cache (a
        fetch in progress): what an event loop may ask without blocking. None: ask :meth:`key`."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self._ttl:
                return None
            found = self._find(kid, alg)
            return None if found is None else (found, self._generation)
        finally:
            self._lock.release()

    def refresh(self) -> None:
        """Fetch the keys now, whatever the cache holds (IssuerUnavailable when none can be had)."""
        with self._lock:
            self._refresh(self._clock())

    def _may_try(self, now: float) -> bool:
        return self._tried_at is None or now - self._tried_at >= self._interval

    def _refresh(self, now: float) -> None:
        self._tried_at = now
        self.fetches += 1
        try:
            keys = parse_jwks(fetch_json(self._locate(), self._timeout))
        except IssuerUnavailable as error:
            if not self._keys:
                raise
            log.warning("keeping the cached keys: %s", error)
            return
        if not keys:
            log.warning("the issuer's JWKS holds no RS256/ES256/EdDSA signature key")
        self._keys = keys
        self._fetched_at = now
        self._generation += 1

    def _find(self, kid: str | None, alg: str) -> PyJWK | None:
        if kid is not None:
            return next((k for k in self._keys if k.key_id == kid), None)
        candidates = [k for k in self._keys if k.algorithm_name == alg]
        return candidates[0] if len(candidates) == 1 else None


# ----------------------------------------------------------------------------------------- verifier ----
class OidcVerifier:
    """Turns a bearer token into a :class:`Principal`, or refuses it with :class:`TokenRejected`.

    Builds nothing at construction (no network): the first token, or :meth:`warm`, fetches the keys.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_url: str = "",
        mapping: ClaimMapping | None = None,
        leeway_seconds: float = 30.0,
        keys_ttl_seconds: float = 300.0,
        refetch_interval_seconds: float = 30.0,
        timeout_seconds: float = 5.0,
        allow_insecure_http: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = _check_url(issuer, "the issuer", allow_insecure_http)
        if jwks_url:
            _check_url(jwks_url, "the JWKS URL", allow_insecure_http)
        if not audience:
            raise ValueError("an audience is needed (the API's name in the tokens' aud, e.g. certifia-api)")
        if not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"the leeway must be between 0 and {MAX_LEEWAY_SECONDS:.0f} seconds")
        if keys_ttl_seconds <= 0 or refetch_interval_seconds < 0 or timeout_seconds <= 0:
            raise ValueError(
                "the key TTL and the timeout must be positive, the refetch interval not negative"
            )
        self.audience = audience
        self.mapping = mapping or ClaimMapping()
        self.leeway = float(leeway_seconds)
        self._jwks_url = jwks_url
        self._allow_http = allow_insecure_http
        self._timeout = timeout_seconds
        self._known: OrderedDict[bytes, tuple[Principal, float, int]] = OrderedDict()  # by SHA-256
        self._lock = threading.Lock()
        self.keys = JwksCache(
            self._locate_jwks,
            ttl=keys_ttl_seconds,
            refetch_interval=refetch_interval_seconds,
            timeout=timeout_seconds,
            clock=clock,
        )

    def principal(self, token: str) -> Principal:
        known = self._remembered(token)
        if known is not None:
            return known
        alg, kid = self._header(token)
        key, generation = self.keys.keyed(kid, alg)
        return self._verified(token, key, alg, generation)

    def principal_without_fetching(self, token: str) -> Principal | None:
        """:meth:`principal` when the keys at hand decide it, None when keys must be fetched first (then call
        :meth:`principal` off the event loop). A token that is refused is refused here too."""
        known = self._remembered(token)
        if known is not None:
            return known
        alg, kid = self._header(token)
        found = self.keys.cached(kid, alg)
        return None if found is None else self._verified(token, found[0], alg, found[1])

    def _verified(self, token: str, key: PyJWK, alg: str, generation: int) -> Principal:
        claims = self._checked(token, key, alg)
        principal = self.mapping.principal(claims)
        with self._lock:
            self._known[_digest(token)] = (principal, float(claims["exp"]) + self.leeway, generation)
            while len(self._known) > REMEMBERED_TOKENS:
                self._known.popitem(last=False)
        return principal

    def _remembered(self, token: str) -> Principal | None:
        """The principal of a token already verified, while the verdict would be the same: before its expiry
        (and the leeway), and with the same keys, unexpired. A signature check is deterministic; only the
        time and the keys can change it (issue 15: the check was half the token's cost per request)."""
        digest = _digest(token)
        with self._lock:
            entry = self._known.get(digest)
            if entry is None:
                return None
            principal, valid_until, generation = entry
            if time.time() < valid_until and self.keys.current(generation):
                self._known.move_to_end(digest)
                return principal
            del self._known[digest]
        return None

    def _checked(self, token: str, key: PyJWK, alg: str) -> dict[str, Any]:
        """The token's claims once its signature, issuer, audience and times check out."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise _rejection(error) from None
        return claims

    def warm(self) -> None:
        """Fetch the keys now (at start-up): :class:`IssuerUnavailable` if they cannot be had."""
        self.keys.refresh()

    def _header(self, token: str) -> tuple[str, str | None]:
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not _COMPACT_JWS.fullmatch(token):
            raise TokenRejected("malformed", "not a signed JWT (header.payload.signature, base64url)")
        encoded = token.partition(".")[0]
        try:  # PyJWT decodes the whole token again, signature first; this only picks the key
            header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        except ValueError:
            raise TokenRejected("malformed", "the token's header cannot be read") from None
        if not isinstance(header, dict):
            raise TokenRejected("malformed", "the token's header is not a JSON object")
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenRejected("bad_algorithm", f"alg {alg!r} is not one of {', '.join(ALGORITHMS)}")
        kid = header.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise TokenRejected("malformed", "kid must be a non-empty string")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.lower() not in _TOKEN_TYPES):
            raise TokenRejected("malformed", f"typ {typ!r} is not an access token's")
        if "crit" in header:
            raise TokenRejected("malformed", "critical header extensions are not supported")
        return alg, kid

    def _locate_jwks(self) -> str:
        if self._jwks_url:
            return self._jwks_url
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = fetch_json(url, self._timeout)
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            found = document.get("issuer") if isinstance(document, dict) else None
            raise IssuerUnavailable(f"{url} names the issuer {found!r}, not {self.issuer!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise IssuerUnavailable(f"{url} has no jwks_uri")
        try:
            self._jwks_url = _check_url(jwks_uri, "jwks_uri", self._allow_http)
        except ValueError as error:
            raise IssuerUnavailable(str(error)) from None
        return self._jwks_url


def _digest(token: str) -> bytes:
    """What the remembered tokens are kept under: 32 bytes each, not the bearer token itself (up to 16 KB)."""
    return hashlib.sha256(token.encode()).digest()


def _rejection(error: jwt.PyJWTError) -> TokenRejected:
    match error:
        case jwt.ExpiredSignatureError():
            return TokenRejected("expired", "the token has expired; ask for a new one")
        case jwt.ImmatureSignatureError():
            return TokenRejected("not_yet_valid", "the token is not valid yet (nbf or iat in the future)")
        case jwt.InvalidAudienceError():
            return TokenRejected("bad_audience", "the token is not meant for this API (aud)")
        case jwt.InvalidIssuerError():
            return TokenRejected("bad_issuer", "the token comes from another issuer (iss)")
        case jwt.MissingRequiredClaimError(claim="aud"):
            return TokenRejected("bad_audience", "the token names no audience (aud)")
        case jwt.MissingRequiredClaimError(claim="iss"):
            return TokenRejected("bad_issuer", "the token names no issuer (iss)")
        case jwt.MissingRequiredClaimError():
            return TokenRejected("bad_claims", f"the token has no {error.claim}")
        case jwt.InvalidSignatureError():
            return TokenRejected("bad_signature", "the signature does not match the issuer's key")
        case jwt.InvalidAlgorithmError():
            return TokenRejected("bad_algorithm", "the token's alg is not its key's")
        case jwt.InvalidIssuedAtError() | InvalidSubjectError() | InvalidJTIError():
            return TokenRejected("bad_claims", str(error))
    return TokenRejected("malformed", "the token cannot be decoded")
