"""What the thesis routers share: the service context, the clock, and the problem documents for refusals
several endpoints make (who may see a candidate is certifia_shared.tenancy's VisibleCandidate)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import Request

from certifia_shared.problems import Problem
from certifia_thesis.domain.model import CandidateWithdrawn


def ctx(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.ctx


def clock(request: Request) -> Callable[[], datetime]:
    """The service's clock (``utcnow``; tests set another on ``app.state.clock``)."""
    now: Callable[[], datetime] = request.app.state.clock
    return now


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
