"""The assessment service's one map from its domain errors to problems (registered by create_app)."""

from __future__ import annotations

from certifia_assessment.domain.appeals import (
    AlreadyAppealed,
    AlreadyResolved,
    AppealNotAllowed,
    AppealWindowClosed,
    DecisionSuperseded,
    NotImpartial,
)
from certifia_assessment.domain.model import CriterionAlreadyValidated
from certifia_assessment.service_layer.appeals import UnknownAppeal, UnknownDecision
from certifia_assessment.service_layer.handlers import (
    AttemptLimitReached,
    CandidateWithdrawn,
    NotVaeCandidate,
    UnknownCandidate,
    UnknownCriterion,
    UnknownEvaluation,
)
from certifia_shared.errors import ErrorMap, withdrawn
from certifia_shared.problems import Problem, not_found

NOT_ALLOWED_TITLES = {
    "decision-not-a-rejection": "Only a rejection can be contested",
    "decision-superseded": "Decision no longer in force",
    "appeal-window-closed": "Appeal window closed",
}


def unknown_criterion(exc: UnknownCriterion) -> Problem:
    return Problem(
        422,
        "Unknown criterion",
        f"{exc.criterion_id!r} is not a criterion of the referential; GET /referential lists their ids.",
        type="unknown-criterion",
        field="criterion_id",
    )


def unknown_evaluation(exc: UnknownEvaluation) -> Problem:
    return Problem(
        422,
        "Unknown evaluation",
        f"{exc.evaluation_id!r} is not an evaluation of the referential; "
        "GET /referential/evaluations lists them.",
        type="unknown-evaluation",
        field="evaluation_id",
    )


def already_validated(exc: CriterionAlreadyValidated) -> Problem:
    return Problem(
        409,
        "Criterion already validated",
        f"{exc.criterion_id} was validated by decision {exc.decision_id}; a validation is final.",
        type="criterion-already-validated",
        field="outcome",
    )


def not_vae(exc: NotVaeCandidate) -> Problem:
    return Problem(
        409,
        "Not a VAE candidate",
        "Blocs are validated by a VAE jury only for candidates enrolled on the VAE path; "
        "record criterion decisions instead.",
        type="not-vae",
        field="candidate_id",
    )


def unknown_decision(exc: UnknownDecision) -> Problem:
    cid = exc.candidate_id
    return Problem(
        422,
        "Unknown decision",
        f"Candidate {cid} has no decision {exc.decision_id!r}; GET /candidates/{cid}/decisions lists them.",
        type="unknown-decision",
        field="decision_id",
    )


def appeal_not_allowed(exc: AppealNotAllowed) -> Problem:
    extensions: dict[str, str] = {}
    if isinstance(exc, DecisionSuperseded):
        extensions["decision_in_force"] = exc.in_force.id
    if isinstance(exc, AppealWindowClosed):
        extensions["deadline"] = exc.deadline.isoformat()
    title = NOT_ALLOWED_TITLES.get(exc.problem_type, "Appeal not allowed")
    return Problem(422, title, str(exc), type=exc.problem_type, field="decision_id", extensions=extensions)


def already_appealed(exc: AlreadyAppealed) -> Problem:
    appeal = exc.appeal
    return Problem(
        409,
        "Decision already contested",
        f"Decision {appeal.decision_id} is contested by appeal {appeal.id} ({appeal.status}); a decision is "
        f"contested once. GET /appeals/{appeal.id} shows it.",
        type="already-appealed",
        field="decision_id",
        extensions={"appeal_id": appeal.id, "appeal_status": appeal.status},
    )


def not_impartial(exc: NotImpartial) -> Problem:
    return Problem(
        403,
        "Not impartial",
        f"You took the contested decision {exc.decision.id}: another officer must resolve this appeal.",
        type="not-impartial",
    )


def already_resolved(exc: AlreadyResolved) -> Problem:
    appeal, resolution = exc.appeal, exc.appeal.resolution
    assert resolution is not None
    return Problem(
        409,
        "Appeal already resolved",
        f"Appeal {appeal.id} was {resolution.outcome} on {resolution.resolved_at.isoformat()} by "
        f"{resolution.resolved_by}; a resolution is final.",
        type="appeal-already-resolved",
        extensions={"appeal_id": appeal.id, "outcome": resolution.outcome},
    )


def attempt_limit_reached(exc: AttemptLimitReached) -> Problem:
    cid = exc.candidate_id
    return Problem(
        409,
        "Attempt limit reached",
        f"Candidate {cid} has had {exc.used} submissions graded for evaluation {exc.evaluation_id}, the "
        f"limit of {exc.limit} (GRADING_MAX_ATTEMPTS_PER_EVALUATION); this one was not recorded. The "
        f"verdicts already given stand (GET /candidates/{cid}/submissions). To be graded again, contest a "
        f"rejection (POST /candidates/{cid}/appeals) or ask a certification officer.",
        type="attempt-limit-reached",
        field="evaluation_id",
        extensions={"evaluation_id": exc.evaluation_id, "limit": exc.limit, "used": exc.used},
    )


ERRORS: ErrorMap = {
    UnknownCandidate: lambda exc: not_found("Candidate", exc.candidate_id, "candidate_id"),
    CandidateWithdrawn: withdrawn,
    AttemptLimitReached: attempt_limit_reached,
    UnknownCriterion: unknown_criterion,
    UnknownEvaluation: unknown_evaluation,
    CriterionAlreadyValidated: already_validated,
    NotVaeCandidate: not_vae,
    UnknownDecision: unknown_decision,
    UnknownAppeal: lambda exc: not_found("Appeal", exc.appeal_id, "appeal_id"),
    AppealNotAllowed: appeal_not_allowed,
    AlreadyAppealed: already_appealed,
    NotImpartial: not_impartial,
    AlreadyResolved: already_resolved,
}
