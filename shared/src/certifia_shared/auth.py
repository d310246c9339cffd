"""Who calls: the bearer access token an OpenID Connect provider issued, verified with its public keys
(certifia_shared.oidc); every endpoint states which roles may call it.

Roles: ``lms`` (an LMS client: the tenant), ``candidate`` (bound to one candidate id: sees only their own
records), ``jury``, ``officer`` (certification officer), ``admin``, ``service`` (service-to-service calls).
No service holds a key that could mint a token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Send 'Authorization: Bearer <access token>' (see README, 'Authentication').")
    return token.strip()


def principal_from_request(request: Request) -> Principal:
    """The caller, from the bearer token (verified once per request, then kept on ``request.state``). May
    fetch the issuer's keys: call it off the event loop, or await :func:`principal_of`."""
    from certifia_shared.oidc import IssuerUnavailable, TokenRejected

    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    try:
        principal: Principal = verifier_of(request).principal(_bearer(request))
    except TokenRejected as exc:
        raise exc.problem() from None
    except IssuerUnavailable as exc:
        raise exc.problem() from None
    request.state.principal = principal
    return principal


async def principal_of(request: Request) -> Principal:
    """:func:`principal_from_request` for the event loop: verified there with the keys at hand (a signature
    check, shorter than a trip through the thread pool: issue 15), in the thread pool when they must be
    fetched."""
    from starlette.concurrency import run_in_threadpool

    from certifia_shared.oidc import TokenRejected

    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    try:
        principal: Principal | None = verifier_of(request).principal_without_fetching(_bearer(request))
    except TokenRejected as exc:
        raise exc.problem() from None
    if principal is None:
        return await run_in_threadpool(principal_from_request, request)
    request.state.principal = principal
    return principal


def require(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: the caller holds one of ``roles`` (admin always may)."""
    allowed = set(roles) | {"admin"}

    async def dependency(request: Request) -> Principal:
        principal = await principal_of(request)
        if not principal.roles.intersection(allowed):
            raise Problem(
                403,
                "Forbidden",
                f"This action needs one of the roles: {', '.join(sorted(allowed))}.",
                type="forbidden",
            )
        return principal

    return dependency
