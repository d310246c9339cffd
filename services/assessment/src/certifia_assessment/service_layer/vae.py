"""The VAE jury's ruling on a bloc, in one unit of work: the decision, vae.decided, and what it validates
(competency.validated, bloc.passed via vae) commit together."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from certifia_assessment.domain.candidates import check_active
from certifia_assessment.domain.model import bloc_is_passed
from certifia_assessment.domain.vae import (
    BlocAlreadyPassed,
    NotVaeCandidate,
    VaeDeciderRole,
    VaeDecision,
    VaeOutcome,
    check_option,
    competencies_of,
)
from certifia_assessment.service_layer.decisions import pass_bloc, validate_competency
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.db import retry_on_conflict
from certifia_shared.envelope import utcnow
from certifia_shared.referential import Referential


@dataclass(frozen=True)
class DecideVae:
    candidate_id: str
    bloc: str
    outcome: VaeOutcome
    comment: str
    evidence_reference: str
    decided_by: str
    decided_by_role: VaeDeciderRole
    competencies: tuple[str, ...] = ()
    """partially_validated: the competencies validated (global ids or codes of the bloc's)."""


@dataclass(frozen=True)
class VaeRuling:
    decision: VaeDecision | None
    """The decision recorded, or on a repeat the one in force (None: the bloc was passed by assessment)."""
    created: bool
    passed_at: datetime | None
    """When the bloc was passed (None: it is not)."""


def decide_vae(cmd: DecideVae, *, uow: AssessmentUnitOfWork, referential: Referential) -> VaeRuling:
    """Record a VAE jury's ruling on a bloc. The same ruling again (same author, outcome, competencies and
    evidence), or a validation of a bloc already passed, records nothing (a repeat). Refused: a candidate not
    on the VAE path or withdrawn, the other option bloc than the one passed or chosen, competencies that are
    not the bloc's, and a rejection or partial validation of a bloc already passed."""
    competencies = competencies_of(referential, cmd.bloc, cmd.outcome, cmd.competencies)
    return retry_on_conflict(lambda: _decide_once(cmd, [c.id for c in competencies], uow, referential))


def _decide_once(
    cmd: DecideVae, competency_ids: list[str], uow: AssessmentUnitOfWork, referential: Referential
) -> VaeRuling:
    with uow:
        candidate = check_active(cmd.candidate_id, uow.candidates.candidate(cmd.candidate_id))
        if candidate["path"] != "vae":
            raise NotVaeCandidate(cmd.candidate_id)
        passed = uow.decisions.passed_blocs(cmd.candidate_id)
        latest = uow.governance.latest_vae_decision(cmd.candidate_id, cmd.bloc)
        now = utcnow()
        decision = VaeDecision(
            id=str(uuid.uuid4()),
            candidate_id=cmd.candidate_id,
            bloc=cmd.bloc,
            outcome=cmd.outcome,
            competencies_validated=tuple(competency_ids),
            decided_by=cmd.decided_by,
            decided_by_role=cmd.decided_by_role,
            comment=cmd.comment.strip(),
            evidence_reference=cmd.evidence_reference.strip(),
            decided_at=now,
            referential_version=referential.version,
        )
        if cmd.bloc in passed:
            passed_at = passed[cmd.bloc]["passed_at"]
            if cmd.outcome != "validated" and not (latest and latest.same_ruling(decision)):
                raise BlocAlreadyPassed(cmd.candidate_id, cmd.bloc, passed[cmd.bloc]["via"], passed_at)
            in_force = latest if latest and latest.outcome != "rejected" else None
            return VaeRuling(in_force, False, passed_at)
        if latest is not None and latest.same_ruling(decision):
            return VaeRuling(latest, False, None)
        check_option(cmd.candidate_id, cmd.bloc, candidate["option"], passed)
        uow.governance.add_vae_decision(decision)
        uow.emit(ev.VAE_DECIDED, subject=cmd.candidate_id, data=_decided(decision))
        passed_at = _apply(decision, uow, referential)
        uow.commit()
        return VaeRuling(decision, True, passed_at)


def _apply(d: VaeDecision, uow: AssessmentUnitOfWork, referential: Referential) -> datetime | None:
    """What the ruling validates: the whole bloc, or the competencies named (then the bloc if that completes
    it). The rights are earned at the ruling (bloc.passed's earned_at)."""
    if d.outcome == "validated":
        pass_bloc(uow, referential, d.candidate_id, d.bloc, "vae", d.decided_at, earned_at=d.decided_at)
        return d.decided_at
    if d.outcome == "rejected":
        return None
    done = uow.decisions.validated_competencies(d.candidate_id, d.bloc)
    for competency in referential.bloc(d.bloc).competencies:
        if competency.id in d.competencies_validated and competency.id not in done:
            validate_competency(
                uow, referential, d.candidate_id, competency, d.decided_at, earned_at=d.decided_at
            )
            done.add(competency.id)
    if not bloc_is_passed(referential, d.bloc, done):
        return None
    earned = uow.decisions.competencies_earned_at(d.candidate_id, d.bloc)
    pass_bloc(uow, referential, d.candidate_id, d.bloc, "vae", d.decided_at, earned_at=earned)
    return d.decided_at


def _decided(d: VaeDecision) -> dict[str, object]:
    return {
        "decision_id": d.id,
        "candidate_id": d.candidate_id,
        "bloc": d.bloc,
        "outcome": d.outcome,
        "competencies_validated": list(d.competencies_validated),
        "decided_by": d.decided_by,
        "decided_by_role": d.decided_by_role,
        "comment": d.comment,
        "evidence_reference": d.evidence_reference,
        "decided_at": d.decided_at.isoformat(),
        "referential_version": d.referential_version,
    }
