"""REST API of VAE jury rulings on a whole bloc (validation des acquis de l'expérience)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from certifia_assessment.domain.vae import (
    COMMENT_MAX_LENGTH,
    COMMENT_MIN_LENGTH,
    EVIDENCE_MAX_LENGTH,
    VaeDecision,
)
from certifia_assessment.entrypoints.api import ShortId
from certifia_assessment.entrypoints.deps import ReferentialDep, UnitOfWorkDep
from certifia_assessment.service_layer import vae
from certifia_assessment.service_layer.decisions import decider_role
from certifia_shared.auth import Principal, require
from certifia_shared.hygiene import free_text, one_line
from certifia_shared.tenancy import VisibleCandidate
from certifia_shared.web import replayed

router = APIRouter(tags=["assessment"])


class VaeBlocRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bloc: Literal["1", "2", "3", "4", "5A", "5B"]
    outcome: Literal["validated", "partially_validated", "rejected"] = Field(
        default="validated",
        description="validated: the bloc is passed; partially_validated: the competencies named are "
        "validated (the bloc is passed if that completes it); rejected: nothing is validated",
    )
    competencies: list[ShortId] = Field(
        default_factory=list,
        max_length=50,
        description="partially_validated only: the bloc's competencies validated (global id 2.A1.C1 or code "
        "A1-C1; GET /referential/blocs/{code} lists them)",
    )
    comment: Annotated[str, free_text(COMMENT_MAX_LENGTH, min_length=COMMENT_MIN_LENGTH)] = Field(
        description="why: what the jury found in the evidence (the candidate reads it)"
    )
    evidence_reference: Annotated[str, one_line(EVIDENCE_MAX_LENGTH)] = Field(
        description="reference of the VAE file the ruling rests on (livret 2, interview minutes), never the "
        "document itself"
    )


class VaeDecisionOut(BaseModel):
    id: str
    outcome: str
    competencies_validated: list[str]
    decided_by: str = Field(description="the account (token subject) that recorded the ruling")
    decided_by_role: str
    comment: str
    evidence_reference: str
    decided_at: datetime
    referential_version: str

    @classmethod
    def of(cls, d: VaeDecision) -> VaeDecisionOut:
        return cls(
            id=d.id,
            outcome=d.outcome,
            competencies_validated=list(d.competencies_validated),
            decided_by=d.decided_by,
            decided_by_role=d.decided_by_role,
            comment=d.comment,
            evidence_reference=d.evidence_reference,
            decided_at=d.decided_at,
            referential_version=d.referential_version,
        )


class VaeBlocOut(BaseModel):
    candidate_id: str
    bloc: str
    via: Literal["vae"]
    passed_at: str | None = Field(description="when the bloc was passed (ISO 8601); null: it is not")
    bloc_passed: bool
    decision: VaeDecisionOut | None = Field(
        description="the ruling recorded (on a repeat: the one in force; null when assessment passed the bloc)"
    )


@router.post(
    "/candidates/{candidate_id}/vae-decisions",
    status_code=201,
    response_model=VaeBlocOut,
    responses=replayed(VaeBlocOut, "The same ruling again, or a validation of a bloc already passed"),
)
def vae_bloc(
    candidate_id: VisibleCandidate,
    body: VaeBlocRequest,
    response: Response,
    principal: Annotated[Principal, Depends(require("jury", "officer"))],
    uow: UnitOfWorkDep,
    referential: ReferentialDep,
) -> VaeBlocOut:
    """A VAE jury rules on a whole bloc for a candidate on the VAE path, and answers for it: the ruling is
    recorded in the name of the token's account with its comment and evidence reference (vae.decided).
    Only one option bloc (5A or 5B) can be passed: the other one is refused (409)."""
    cmd = vae.DecideVae(
        candidate_id=candidate_id,
        bloc=body.bloc,
        outcome=body.outcome,
        comment=body.comment,
        evidence_reference=body.evidence_reference,
        decided_by=principal.subject,
        decided_by_role=decider_role(principal),
        competencies=tuple(body.competencies),
    )
    ruling = vae.decide_vae(cmd, uow=uow, referential=referential)
    if not ruling.created:
        response.status_code = 200
    return VaeBlocOut(
        candidate_id=candidate_id,
        bloc=body.bloc,
        via="vae",
        passed_at=ruling.passed_at.isoformat() if ruling.passed_at else None,
        bloc_passed=ruling.passed_at is not None,
        decision=VaeDecisionOut.of(ruling.decision) if ruling.decision else None,
    )
