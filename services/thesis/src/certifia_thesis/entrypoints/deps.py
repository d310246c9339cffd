"""What the thesis routers share: the service context, the clock, who may see a candidate, and the
problem documents for refusals several endpoints make."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import Request

from certifia_shared.auth import Principal, ensure_candidate_access
from certifia_shared.problems import Problem, not_found
from certifia_thesis.domain.model import CandidateWithdrawn
from certifia_thesis.service_layer import views


def ctx(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.ctx


def clock(request: Request) -> Callable[[], datetime]:
    """The service's clock (``utcnow``; tests set another on ``app.state.clock``)."""
    now: Callable[[], datetime] = request.app.state.clock
    return now


def check_visible(request: Request, principal: Principal, candidate_id: str) -> None:
    """404 for an unknown candidate, and for another LMS's candidate (not disclosed)."""
    ensure_candidate_access(principal, candidate_id)
    candidate = views.known_candidate(candidate_id, uow=ctx(request).uow())
    if candidate is None:
        raise not_found("Candidate", candidate_id, "candidate_id")
    if (
        principal.has("lms")
        and not principal.has("admin", "officer", "jury")
        and candidate.lms_client != (principal.client_id or principal.subject)
    ):
        raise not_found("Candidate", candidate_id, "candidate_id")


def withdrawn(exc: CandidateWithdrawn) -> Problem:
    when = exc.withdrawn_at.isoformat()
    return Problem(
        409,
        "Candidate withdrew",
        f"Candidate {exc.candidate_id!r} withdrew from the certification on {when}; no thesis deposit, "
        "defence scheduling or defence outcome is accepted after a withdrawal.",
        type="candidate-withdrawn",
        extensions={"withdrawn_at": when},
    )


def already_passed(candidate_id: str) -> Problem:
    return Problem(
        409,
        "Thesis already passed",
        f"Candidate {candidate_id!r} already passed the thesis defence; that outcome is final.",
        type="thesis-already-passed",
    )
