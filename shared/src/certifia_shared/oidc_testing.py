"""A local OpenID provider for unit and API tests: what a service is configured with instead of Keycloak.

:class:`LocalIssuer` makes a signing key in memory (ES256 by default; RS256 and EdDSA too), serves the
discovery document and the JWKS on ``http://127.0.0.1:<port>`` (a thread, port 0), and mints access
tokens shaped like the development realm's (iss, aud ``certifia-api``, sub, roles, candidate_id,
client_id/azp, iat, nbf, exp). The service under test gets ``OIDC_ISSUER=issuer.url`` and
``OIDC_AUDIENCE=issuer.audience`` and verifies exactly as in production::

    with LocalIssuer() as issuer:
        token = issuer.mint("lms-1", ["lms"], client_id="demo-lms")
        verifier = issuer.verifier()
        assert verifier.principal(token).client_id == "demo-lms"
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from certifia_shared.oidc import ClaimMapping, OidcVerifier

Algorithm = Literal["ES256", "RS256", "EdDSA"]
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/protocol/openid-connect/certs"


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()  # as a claim's value in mint(): leave the claim out


def _new_key(algorithm: Algorithm) -> Any:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


class _SigningKey:
    def __init__(self, algorithm: Algorithm) -> None:
        self.algorithm = algorithm
        self.kid = secrets.token_urlsafe(12)
        self.private = _new_key(algorithm)

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = get_default_algorithms()[self.algorithm].to_jwk(
            self.private.public_key(), as_dict=True
        )
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def public_pem(self) -> bytes:
        return bytes(
            self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


class LocalIssuer:
    """Discovery + JWKS on 127.0.0.1 and an in-memory key. ``requests`` counts what was fetched."""

    def __init__(self, *, algorithm: Algorithm = "ES256", audience: str = "certifia-api") -> None:
        self.algorithm: Algorithm = algorithm
        self.audience = audience
        self._lock = threading.Lock()
        self._current = _SigningKey(algorithm)
        self._published: list[_SigningKey] = [self._current]
        self.requests: dict[str, int] = {"discovery": 0, "jwks": 0}
        self.token_requests = 0
        # client id -> (secret, roles): what the token endpoint grants with client credentials
        self.clients: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # ------------------------------------------------------------------------------------- server ----
    def start(self) -> LocalIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = issuer._document(self.path)
                if body is None:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                status, body = issuer._token(form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-issuer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalIssuer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    def _document(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            if path == DISCOVERY_PATH:
                self.requests["discovery"] += 1
                return {
                    "issuer": self.url,
                    "jwks_uri": self.jwks_url,
                    "token_endpoint": self.url + "/protocol/openid-connect/token",
                    "id_token_signing_alg_values_supported": [self.algorithm],
                }
            if path == JWKS_PATH:
                self.requests["jwks"] += 1
                return {"keys": [key.jwk() for key in self._published]}
        return None

    def client(self, client_id: str, secret: str, *roles: str) -> LocalIssuer:
        """Let ``client_id`` obtain tokens (``roles``) with the client-credentials grant."""
        self.clients[client_id] = (secret, roles)
        return self

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: the client-credentials grant only (as an LMS or a service uses it)."""
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        client_id = form.get("client_id", "")
        known = self.clients.get(client_id)
        if known is None or not secrets.compare_digest(known[0], form.get("client_secret", "")):
            return 401, {"error": "invalid_client"}
        token = self.mint(f"service-account-{client_id}", known[1], client_id=client_id, ttl=300)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 300}

    # ----------------------------------------------------------------------------------------- keys ----
    @property
    def kid(self) -> str:
        return self._current.kid

    def public_key_pem(self) -> bytes:
        """The current public key, PEM (what an HS256 'key confusion' attack would use as the secret)."""
        return self._current.public_pem()

    def rotate(self, *, keep_previous: bool = True, publish: bool = True) -> str:
        """Sign with a new key from now on; the JWKS lists it (``publish``) beside the previous one
        (``keep_previous``). Returns the new kid."""
        with self._lock:
            previous = self._current
            self._current = _SigningKey(self.algorithm)
            published = [previous] if keep_previous else []
            if publish:
                published.append(self._current)
            self._published = published
            return self._current.kid

    # --------------------------------------------------------------------------------------- tokens ----
    def payload(
        self,
        subject: str,
        roles: Any = (),
        candidate_id: Any = None,
        client_id: Any = None,
        ttl: float = 300,
        **overrides: Any,
    ) -> dict[str, Any]:
        """The claims :meth:`mint` signs. ``roles`` (any iterable but a string becomes a list), and
        ``candidate_id``/``client_id`` when not None, are written as given, odd types included;
        ``overrides`` set claims last (``sub=OMIT`` leaves sub out, ``aud="other"`` replaces it).
        ``client_id`` also sets ``azp``, as Keycloak does."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl),
            "jti": secrets.token_urlsafe(12),
            "roles": _as_claim(roles),
        }
        if candidate_id is not None:
            claims["candidate_id"] = candidate_id
        if client_id is not None:
            claims["client_id"] = client_id
            claims["azp"] = client_id
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not OMIT}

    def sign(self, claims: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None) -> str:
        """``claims`` signed with the current key (kid in the header unless ``headers`` say otherwise)."""
        key = self._current
        header = {"kid": key.kid, "typ": "at+jwt", **(headers or {})}
        header = {name: value for name, value in header.items() if value is not OMIT}
        return jwt.encode(dict(claims), key.private, algorithm=key.algorithm, headers=header)

    def mint(
        self,
        subject: str,
        roles: Any = (),
        candidate_id: Any = None,
        client_id: Any = None,
        ttl: float = 300,
        *,
        headers: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        """A signed access token for this issuer and audience (see :meth:`payload`)."""
        return self.sign(
            self.payload(subject, roles, candidate_id, client_id, ttl, **overrides), headers=headers
        )

    # --------------------------------------------------------------------------------------- wiring ----
    def verifier(self, *, mapping: ClaimMapping | None = None, **kwargs: Any) -> OidcVerifier:
        """A verifier configured as a service would be: issuer URL and audience, nothing secret."""
        return OidcVerifier(self.url, self.audience, mapping=mapping, **kwargs)

    def env(self) -> dict[str, str]:
        """The settings a service under test needs to trust this issuer."""
        return {"OIDC_ISSUER": self.url, "OIDC_AUDIENCE": self.audience}


def _as_claim(roles: Any) -> Any:
    if isinstance(roles, Iterable) and not isinstance(roles, str | bytes | Mapping | list):
        return sorted(roles)
    return roles
