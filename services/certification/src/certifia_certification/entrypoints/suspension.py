"""Certification officers suspend diplomas and bloc certificates (an appeal, an investigation) and lift the
suspension (thin: validate the request, call the use case, shape the answer).

``POST .../suspension`` suspends and ``POST .../suspension/lift`` lifts, each with a reason, like
``POST .../revocation``: both are decisions recorded with who took them, when and why, not a resource
deleted. ``GET .../suspension`` shows the suspension in force and the whole history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from certifia_certification.domain.suspension import CredentialKind
from certifia_certification.entrypoints.deps import Decider, DeciderDep, UnitOfWorkDep
from certifia_certification.entrypoints.revocation import Reason
from certifia_certification.service_layer.suspension import (
    ChangeSuspension,
    SuspensionState,
    change_suspension,
)
from certifia_certification.service_layer.unit_of_work import CertificationUnitOfWork
from certifia_certification.service_layer.views import suspension_state
from certifia_shared.auth import Principal, require

router = APIRouter(tags=["certification"])

Staff = Annotated[Principal, Depends(require("officer"))]
"""Officers (and admins, always) read a suspension and its history; who decides a change: ``DeciderDep``."""


class SuspensionIn(BaseModel):
    reason: Reason
    """Why (e.g. ``appeal under review``); public while suspended: verification shows it after
    ``suspended on <date>:``."""


class SuspensionRecordOut(BaseModel):
    action: Literal["suspended", "lifted"]
    at: datetime
    reason: str
    by: str
    """The subject of the officer's or admin's token."""
    by_role: str


class SuspensionOut(BaseModel):
    candidate_id: str
    suspended: bool
    suspended_at: datetime | None
    reason: str | None
    suspended_by: str | None
    suspended_by_role: str | None
    history: list[SuspensionRecordOut]
    """Every suspension and lifting, oldest first."""


class DiplomaSuspensionOut(SuspensionOut):
    diploma_id: str


class BlocCertificateSuspensionOut(SuspensionOut):
    certificate_id: str


def _out(state: SuspensionState) -> SuspensionOut:
    s = state.suspension
    return SuspensionOut(
        candidate_id=state.candidate_id,
        suspended=s is not None,
        suspended_at=s.suspended_at if s else None,
        reason=s.reason if s else None,
        suspended_by=s.suspended_by if s else None,
        suspended_by_role=s.suspended_by_role if s else None,
        history=[
            SuspensionRecordOut(action=r.action, at=r.at, reason=r.reason, by=r.by, by_role=r.by_role)
            for r in state.history
        ],
    )


def _change(
    kind: CredentialKind,
    credential_id: str,
    action: Literal["suspend", "lift"],
    body: SuspensionIn,
    who: Decider,
    uow: CertificationUnitOfWork,
) -> SuspensionOut:
    cmd = ChangeSuspension(kind, credential_id, action, body.reason, by=who.subject, by_role=who.role)
    return _out(change_suspension(cmd, uow=uow))


@router.post("/diplomas/{diploma_id}/suspension", response_model=DiplomaSuspensionOut)
def suspend_diploma(
    diploma_id: str, body: SuspensionIn, decider: DeciderDep, uow: UnitOfWorkDep
) -> DiplomaSuspensionOut:
    """Suspend a diploma while it is looked into: its verification reports it suspended (since when, why) and
    its entry in the suspension status list is set, until the suspension is lifted. Suspending a suspended
    diploma changes nothing; a revoked one is not suspended (409: revocation is final)."""
    out = _change("diploma", diploma_id, "suspend", body, decider, uow)
    return DiplomaSuspensionOut(diploma_id=diploma_id, **out.model_dump())


@router.post("/diplomas/{diploma_id}/suspension/lift", response_model=DiplomaSuspensionOut)
def lift_diploma_suspension(
    diploma_id: str, body: SuspensionIn, decider: DeciderDep, uow: UnitOfWorkDep
) -> DiplomaSuspensionOut:
    """Lift the diploma's suspension (e.g. the appeal was rejected): it verifies again. Lifting when it is not
    suspended changes nothing."""
    out = _change("diploma", diploma_id, "lift", body, decider, uow)
    return DiplomaSuspensionOut(diploma_id=diploma_id, **out.model_dump())


@router.get("/diplomas/{diploma_id}/suspension", response_model=DiplomaSuspensionOut)
def diploma_suspension(diploma_id: str, principal: Staff, uow: UnitOfWorkDep) -> DiplomaSuspensionOut:
    """The diploma's suspension in force, if any, and every suspension and lifting (who, when, why)."""
    out = _out(suspension_state("diploma", diploma_id, uow=uow))
    return DiplomaSuspensionOut(diploma_id=diploma_id, **out.model_dump())


@router.post("/bloc-certificates/{certificate_id}/suspension", response_model=BlocCertificateSuspensionOut)
def suspend_bloc_certificate(
    certificate_id: str, body: SuspensionIn, decider: DeciderDep, uow: UnitOfWorkDep
) -> BlocCertificateSuspensionOut:
    """Suspend a bloc certificate (as a diploma: reported suspended, its suspension list entry set)."""
    out = _change("bloc_certificate", certificate_id, "suspend", body, decider, uow)
    return BlocCertificateSuspensionOut(certificate_id=certificate_id, **out.model_dump())


@router.post(
    "/bloc-certificates/{certificate_id}/suspension/lift", response_model=BlocCertificateSuspensionOut
)
def lift_bloc_certificate_suspension(
    certificate_id: str, body: SuspensionIn, decider: DeciderDep, uow: UnitOfWorkDep
) -> BlocCertificateSuspensionOut:
    """Lift the bloc certificate's suspension: it verifies again."""
    out = _change("bloc_certificate", certificate_id, "lift", body, decider, uow)
    return BlocCertificateSuspensionOut(certificate_id=certificate_id, **out.model_dump())


@router.get("/bloc-certificates/{certificate_id}/suspension", response_model=BlocCertificateSuspensionOut)
def bloc_certificate_suspension(
    certificate_id: str, principal: Staff, uow: UnitOfWorkDep
) -> BlocCertificateSuspensionOut:
    """The bloc certificate's suspension in force, if any, and its history."""
    out = _out(suspension_state("bloc_certificate", certificate_id, uow=uow))
    return BlocCertificateSuspensionOut(certificate_id=certificate_id, **out.model_dump())
