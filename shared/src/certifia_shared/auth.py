"""Bearer tokens (JWT, HS256) with roles; every endpoint states who may call it.

Roles: ``lms`` (an LMS client), ``candidate`` (bound to one candidate id), ``jury``, ``officer``
(certification officer), ``admin``, ``service`` (service-to-service calls).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Request
from pydantic import SecretStr

from certifia_shared.problems import Problem

ROLES = frozenset({"lms", "candidate", "jury", "officer", "admin", "service"})
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    candidate_id: str | None = None
    client_id: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def mint_token(
    secret: SecretStr,
    *,
    subject: str,
    roles: Iterable[str],
    candidate_id: str | None = None,
    client_id: str | None = None,
    ttl_seconds: int = 3600,
    issuer: str = "certifia",
) -> str:
    roles = sorted(set(roles))
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; known: {sorted(ROLES)}")
    if "candidate" in roles and not candidate_id:
        raise ValueError("a candidate token must carry candidate_id")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "roles": roles,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if candidate_id:
        claims["candidate_id"] = candidate_id
    if client_id:
        claims["client_id"] = client_id
    return jwt.encode(claims, secret.get_secret_value(), algorithm=ALGORITHM)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, type="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def decode_token(token: str, secret: SecretStr, issuer: str = "certifia") -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret.get_secret_value(),
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The bearer token has expired; ask for a new one.") from None
    except jwt.PyJWTError:
        raise _unauthorized("The bearer token is invalid.") from None
    roles = frozenset(r for r in claims.get("roles", []) if r in ROLES)
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,
        candidate_id=claims.get("candidate_id"),
        client_id=claims.get("client_id"),
    )


def principal_from_request(request: Request) -> Principal:
    """The caller, from the bearer token (verified once per request, then kept on ``request.state``)."""
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("Send 'Authorization: Bearer <token>'.")
    settings = request.app.state.settings
    principal = decode_token(token.strip(), settings.auth_secret, settings.auth_issuer)
    request.state.principal = principal
    return principal


def require(*roles: str) -> Callable[[Request], Principal]:
    """FastAPI dependency: the caller holds one of ``roles`` (admin always may)."""
    allowed = set(roles) | {"admin"}

    def dependency(request: Request) -> Principal:
        principal = principal_from_request(request)
        if not principal.roles.intersection(allowed):
            raise Problem(
                403,
                "Forbidden",
                f"This action needs one of the roles: {', '.join(sorted(allowed))}.",
                type="forbidden",
            )
        return principal

    return dependency
