"""Who may see or act on a candidate: the one tenancy rule of every candidate-scoped route of every service.

- Staff (``admin``, ``officer``, ``jury``, and ``service`` for service-to-service calls) see every candidate.
- An LMS (``lms``) sees only the candidates it enrolled: the tenant is the LMS client the token names, and
  every service keeps the candidate's LMS from ``candidate.enrolled`` (``lms_client``). Another LMS's
  candidate, and a candidate the service does not know, answer the same 404: nothing is disclosed.
- A candidate (``candidate``) sees only themself (403 for anyone else).

Routes take it as a typed dependency::

    @router.get("/candidates/{candidate_id}/progress")
    def progress(candidate_id: VisibleCandidate, principal: ...) -> ...

and routes that address a resource by its own id (a submission, an appeal, a diploma) load it, then call
:func:`ensure_visible` with its candidate. Each service gives ``app.state.tenants`` a
:class:`TenantDirectory` (usually :class:`TableTenants` over its own candidates table).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy import Column, Table, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from certifia_shared.auth import Principal, principal_of
from certifia_shared.journey import mark_candidate
from certifia_shared.problems import Problem, not_found

STAFF = frozenset({"admin", "officer", "jury", "service"})
UNKNOWN = object()  # the service has no such candidate


class TenantDirectory(Protocol):
    def tenant_of(self, candidate_id: str) -> str | object | None:
        """The LMS client that enrolled the candidate (None if not through an LMS), or UNKNOWN."""
        ...


class TableTenants:
    """A :class:`TenantDirectory` over a service's own candidates table (id column, lms_client column).

    A candidate's LMS never changes once the service knows it (it is the one that enrolled them), so the
    owners read are remembered, up to ``remember`` candidates, the least recently asked forgotten first:
    an LMS reading its candidates costs no transaction of its own after the first (issue 15: one per
    request before). What is not known yet is read again each time: a candidate the service has not heard
    of, or whose LMS it has not learnt (certification learns it from candidate.enrolled, which may come
    after other events)."""

    REMEMBER = 20_000  # a few MB: the candidates being assessed, not the year's

    def __init__(
        self,
        sessions: Callable[[], Session],
        id_column: Column[str],
        tenant_column: Column[str],
        *,
        remember: int = REMEMBER,
    ) -> None:
        table = id_column.table
        assert isinstance(table, Table) and tenant_column.table is table
        self._sessions = sessions
        self._id = id_column
        self._tenant = tenant_column
        self._remember = remember
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def tenant_of(self, candidate_id: str) -> str | object | None:
        with self._lock:
            owner = self._owners.get(candidate_id)
            if owner is not None:
                self._owners.move_to_end(candidate_id)
                return owner
        with self._sessions() as session:
            row = session.execute(select(self._tenant).where(self._id == candidate_id)).first()
        if row is None:
            return UNKNOWN
        if row[0] and self._remember > 0:
            with self._lock:
                self._owners[candidate_id] = row[0]
                while len(self._owners) > self._remember:
                    self._owners.popitem(last=False)
        return row[0]


def tenant(principal: Principal) -> str:
    """The LMS client a token speaks for (its client id; the subject for tokens that carry none)."""
    return principal.client_id or principal.subject


def check_visible(
    principal: Principal, candidate_id: str, directory: TenantDirectory, *, hidden_as: Problem | None = None
) -> None:
    """Raise the refusal ``principal`` gets for ``candidate_id``; return when it may go on. Another LMS's
    candidate is answered as ``hidden_as`` (the route's own not-found; by default the candidate's); so is
    another candidate's resource reached by its own id (a candidate naming another candidate gets 403)."""
    if principal.roles & STAFF:
        return
    if principal.has("candidate") and principal.candidate_id == candidate_id:
        return
    if hidden_as is not None and not principal.has("lms"):
        raise hidden_as
    if principal.has("lms"):
        owner = directory.tenant_of(candidate_id)
        if owner is not UNKNOWN and owner is not None and owner == tenant(principal):
            return
        raise hidden_as or not_found("Candidate", candidate_id, "candidate_id")
    raise Problem(403, "Forbidden", "You may only see your own records.", type="forbidden")


def directory_of(request: Request) -> TenantDirectory:
    directory: TenantDirectory = request.app.state.tenants
    return directory


def ensure_visible(request: Request, principal: Principal, candidate_id: str, *, hidden_as: Problem) -> None:
    """For routes that found the candidate through a resource of theirs (a submission, a diploma...):
    ``hidden_as`` is the resource's not-found, what another LMS gets (the resource is not disclosed)."""
    check_visible(principal, candidate_id, directory_of(request), hidden_as=hidden_as)
    mark_candidate(candidate_id)  # the request's span: the candidate, linked to their journey


def reads_directory(principal: Principal, candidate_id: str) -> bool:
    """Whether :func:`check_visible` asks the directory (a database read): only for an LMS, neither staff nor
    the candidate themself."""
    if principal.roles & STAFF:
        return False
    if principal.has("candidate") and principal.candidate_id == candidate_id:
        return False
    return principal.has("lms")


async def visible_candidate(request: Request, candidate_id: str) -> str:
    """The ``candidate_id`` path parameter, once the caller may see that candidate. On the event loop unless
    the rule reads the directory (then in the thread pool): a sync dependency is a trip through the thread
    pool and back on every request (issue 15)."""
    principal = await principal_of(request)
    if reads_directory(principal, candidate_id):
        await run_in_threadpool(check_visible, principal, candidate_id, directory_of(request))
    else:
        check_visible(principal, candidate_id, directory_of(request))
    mark_candidate(candidate_id)
    return candidate_id


VisibleCandidate = Annotated[str, Depends(visible_candidate)]
