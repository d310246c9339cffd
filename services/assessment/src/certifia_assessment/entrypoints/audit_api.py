"""REST API of a candidate's audit trail: who decided what about them, when and why."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from certifia_assessment.entrypoints.deps import UnitOfWorkDep
from certifia_assessment.service_layer import views
from certifia_shared.auth import Principal, require
from certifia_shared.tenancy import VisibleCandidate

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    at: datetime
    kind: str = Field(
        description="decision, vae_decision, appeal_opened, appeal_resolved, accommodation_granted, withdrawal; "
        "from the thesis service: defence_scheduled, defence_outcome, defence_cancelled, defence_appeal_opened, "
        "defence_appeal_resolved"
    )
    account: str | None = Field(description="who: the account (token subject or LMS client); null if unknown")
    role: str | None
    reason: str | None = Field(description="the comment, grounds, reasoning or reason given")
    evidence_reference: str | None = Field(
        description="what it rests on: a VAE file's or an accommodation's evidence reference, the submission "
        "graded"
    )
    outcome: str | None
    bloc: str | None
    criterion_id: str | None
    ref: str | None = Field(
        description="the id of the record: a decision, an appeal, an accommodation, a defence, a defence appeal"
    )
    grade: float | None = Field(default=None, description="a defence outcome's grade out of 20, if given")
    defence_id: str | None = Field(
        default=None,
        description="the defence a thesis entry is about (for a defence appeal: the one contested)",
    )


@router.get("/candidates/{candidate_id}/audit", response_model=list[AuditEntryOut])
def audit(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer", "lms"))],
    uow: UnitOfWorkDep,
) -> list[AuditEntryOut]:
    """Every decision, VAE ruling, appeal opening and resolution, accommodation granted and the withdrawal
    of the candidate, and their defence (scheduled, outcome and grade, cancelled, appealed), oldest first,
    each with the account and role that recorded it (where known) and why. Staff read every candidate's;
    the candidate their own, an LMS those it enrolled."""
    return [AuditEntryOut(**asdict(e)) for e in views.audit(uow, candidate_id)]
