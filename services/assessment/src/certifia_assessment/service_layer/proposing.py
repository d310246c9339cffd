"""Automated verdicts that become proposals instead of decisions (the jury policy, domain.jury_policy).

Called by the grading.completed handler inside its unit of work: a verdict whose evaluation's policy is
not ``automated_final``, or whose values are implausible, is recorded as a proposal and announced by
verdict.proposed; no decision is recorded until a jury member reviews it (service_layer.proposals).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from certifia_assessment.domain.jury_policy import FILE_NAME, JuryPolicy, load_jury_policy, review_reasons
from certifia_assessment.domain.model import Submission
from certifia_assessment.domain.proposals import Proposal
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.envelope import utcnow
from certifia_shared.feedback import candidate_explanation
from certifia_shared.referential import Criterion, Referential
from certifia_shared.referential.loader import default_referential_path

log = logging.getLogger(__name__)


def default_jury_policy_path() -> Path:
    """jury_policy.yaml beside the referential (contracts/referential/, or $CERTIFIA_REFERENTIAL's folder)."""
    return default_referential_path().parent / FILE_NAME


def read_jury_policy(referential: Referential, path: Path | str | None = None) -> JuryPolicy:
    """The policy file (default: :func:`default_jury_policy_path`), checked against ``referential``; the
    default one is read once per referential."""
    if path is not None:
        return load_jury_policy(Path(path).read_text(encoding="utf-8"), referential)
    default = default_jury_policy_path()
    key = (str(default.resolve()), referential.version)
    if key not in _DEFAULT:
        _DEFAULT[key] = load_jury_policy(default.read_text(encoding="utf-8"), referential)
    return _DEFAULT[key]


_DEFAULT: dict[tuple[str, str], JuryPolicy] = {}


def proposal_id(submission_id: str, criterion_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{submission_id}/{criterion_id}/proposal"))


def propose_if_reviewed(
    uow: AssessmentUnitOfWork,
    policy: JuryPolicy,
    submission: Submission,
    report: dict[str, Any],
    criterion: Criterion,
    verdict: dict[str, Any],
) -> bool:
    """Record a proposal for the verdict when a person must answer for it (emitting verdict.proposed);
    True when the verdict is taken here (new proposal, replayed one, or criterion validated already),
    False when it is the decision in force (automated_final, plausible)."""
    evaluation = policy.of(submission.evaluation_id)
    reasons = review_reasons(evaluation, verdict, report.get("metrics"))
    if not reasons:
        return False
    pid = proposal_id(submission.id, criterion.id)
    if uow.proposals.get(pid) is not None:
        return True  # a replayed grading.completed
    validated = uow.decisions.validation_decision(submission.candidate_id, criterion.id)
    if validated is not None:
        log.info("no proposal on %s: validated by decision %s", criterion.id, validated.id)
        return True
    proposal = Proposal(
        id=pid,
        candidate_id=submission.candidate_id,
        submission_id=submission.id,
        evaluation_id=submission.evaluation_id,
        bloc=criterion.bloc,
        criterion_id=criterion.id,
        criterion_code=criterion.code,
        proposed_outcome=verdict["verdict"],
        policy=evaluation.policy,
        policy_version=policy.version,
        review_reasons=tuple(reasons),
        grader=f"{report['pack_id']}@{report['pack_version']}",
        evidence={
            "submission_digest": report.get("submission_digest", submission.digest),
            "pack_id": report["pack_id"],
            "pack_version": report["pack_version"],
            "dataset_seed": report.get("dataset_seed"),
            "verdict": verdict,
            # what the decision will quote to the candidate: the values rounded (certifia_shared.feedback)
            "candidate_explanation": candidate_explanation(verdict["explanation"], report.get("metrics")),
            "metrics": report.get("metrics") or {},
            "plausible": {m: {"min": r.min, "max": r.max} for m, r in evaluation.plausible.items()},
        },
        proposed_at=utcnow(),
    )
    uow.proposals.add(proposal)
    uow.emit(ev.VERDICT_PROPOSED, subject=proposal.candidate_id, data=proposed_payload(proposal))
    return True


def proposed_payload(p: Proposal) -> dict[str, Any]:
    return {
        "proposal_id": p.id,
        "candidate_id": p.candidate_id,
        "submission_id": p.submission_id,
        "evaluation_id": p.evaluation_id,
        "bloc": p.bloc,
        "criterion_id": p.criterion_id,
        "criterion_code": p.criterion_code,
        "proposed_outcome": p.proposed_outcome,
        "policy": p.policy,
        "policy_version": p.policy_version,
        "review_reasons": list(p.review_reasons),
        "grader": p.grader,
        "proposed_at": p.proposed_at.isoformat(),
    }
