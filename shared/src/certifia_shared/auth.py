"""Who calls: the bearer access token an OpenID Connect provider issued, verified with its public keys
(certifia_shared.oidc); every endpoint states which roles may call it.

Roles: ``lms`` (an LMS client: the tenant), ``candidate`` (bound to one candidate id: sees only their own
records), ``jury``, ``officer`` (certification officer), ``admin``, ``service`` (service-to-service calls).
No service holds a key that could mint a token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from certifia_shared.problems import Problem

ROLES = frozenset({"lms", "candidate", "jury", "officer", "admin", "service"})


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    candidate_id: str | None = None
    client_id: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, type="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def verifier_of(request: Request) -> Any:
    """The app's token verifier (built once from its settings, on first use)."""
    state = request.app.state
    verifier = getattr(state, "verifier", None)
    if verifier is None:
        verifier = state.settings.oidc_verifier()
        state.verifier = verifier
    return verifier


def principal_from_request(request: Request) -> Principal:
    """The caller, from the bearer token (verified once per request, then kept on ``request.state``)."""
    from certifia_shared.oidc import IssuerUnavailable, TokenRejected

    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Send 'Authorization: Bearer <access token>' (see README, 'Authentication').")
    try:
        principal: Principal = verifier_of(request).principal(token.strip())
    except TokenRejected as exc:
        raise exc.problem() from None
    except IssuerUnavailable as exc:
        raise exc.problem() from None
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
