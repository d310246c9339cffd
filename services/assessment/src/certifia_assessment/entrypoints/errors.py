"""The assessment service's one map from its domain errors to problems (registered by create_app)."""

from __future__ import annotations

from certifia_assessment.domain.appeals import (
    AlreadyAppealed,
    AlreadyResolved,
    AppealNotAllowed,
    AppealWindowClosed,
    DecisionSuperseded,
    NotImpartial,
    UnknownAppeal,
    UnknownDecision,
)
from certifia_assessment.domain.candidates import CandidateWithdrawn, UnknownCandidate
from certifia_assessment.domain.model import (
    AttemptLimitReached,
    CriterionAlreadyValidated,
    RejectionWithoutReason,
    UnknownCriterion,
    UnknownEvaluation,
)
from certifia_assessment.domain.proposals import ReviewRefused, UnknownProposal
from certifia_assessment.domain.vae import (
    BlocAlreadyPassed,
    CompetenciesRefused,
    NotVaeCandidate,
    OtherOptionBloc,
)
from certifia_shared.errors import ErrorMap, unknown_candidate, withdrawn
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
    """Names the rule broken (``rule``): who took the contested decision, or opened the appeal on the
    candidate's behalf, may not resolve it."""
    did = (
        f"You took the contested decision {exc.decision.id}"
        if exc.rule == "took-the-decision"
        else f"You opened this appeal against decision {exc.decision.id} on the candidate's behalf"
    )
    return Problem(
        403,
        "Not impartial",
        f"{did}: another officer must resolve this appeal (whoever took the contested decision or opened "
        "the appeal may not judge it).",
        type="not-impartial",
        extensions={"rule": exc.rule, "decision_id": exc.decision.id},
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


REVIEW_TITLES = {
    "proposal-already-decided": "Proposal already decided",
    "proposal-already-reviewed": "Proposal already reviewed by you",
    "second-opinion-required": "Second opinion first",
    "second-opinion-not-expected": "No second opinion on this proposal",
    "invalid-review": "Invalid review",
}


def review_refused(exc: ReviewRefused) -> Problem:
    proposal = exc.proposal
    extensions = {"proposal_id": proposal.id, "proposal_status": proposal.status}
    if proposal.decision_id:
        extensions["decision_id"] = proposal.decision_id
    return Problem(
        exc.status,
        REVIEW_TITLES.get(exc.problem_type, "Review refused"),
        str(exc),
        type=exc.problem_type,
        field=exc.field,
        extensions=extensions,
    )


def rejection_without_reason(exc: RejectionWithoutReason) -> Problem:
    return Problem(
        422,
        "Rejection without a reason",
        "A rejection needs a comment that tells the candidate why (what is missing or wrong): they read it "
        "to improve and to decide whether to contest it. Write it in comment.",
        type="validation",
        field="comment",
    )


def other_option_bloc(exc: OtherOptionBloc) -> Problem:
    why = "passed" if exc.why == "passed" else "chose"
    return Problem(
        409,
        "Other option bloc",
        f"Candidate {exc.candidate_id} {why} option bloc {exc.other}; a candidate passes one option bloc "
        f"(5A or 5B), so {exc.bloc} cannot be ruled on. Rule on bloc {exc.other}, or have the candidate "
        "change their option in enrolment first (only while no option bloc is passed).",
        type="other-option-bloc",
        field="bloc",
        extensions={"option_bloc": exc.other, "because": exc.why},
    )


def competencies_refused(exc: CompetenciesRefused) -> Problem:
    return Problem(
        422,
        "Competencies do not fit the ruling",
        f"{exc}; GET /referential/blocs/{exc.bloc} lists the bloc's competencies.",
        type="vae-competencies",
        field="competencies",
        extensions={"unknown": exc.unknown} if exc.unknown else None,
    )


def bloc_already_passed(exc: BlocAlreadyPassed) -> Problem:
    return Problem(
        409,
        "Bloc already passed",
        f"Bloc {exc.bloc} of candidate {exc.candidate_id} was passed ({exc.via}) on "
        f"{exc.passed_at.isoformat()}; a pass is final, a VAE jury can no longer reject it or validate part of it.",
        type="bloc-already-passed",
        field="outcome",
        extensions={"passed_at": exc.passed_at.isoformat()},
    )


ERRORS: ErrorMap = {
    UnknownCandidate: unknown_candidate,
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
    UnknownProposal: lambda exc: not_found("Proposal", exc.proposal_id, "proposal_id"),
    ReviewRefused: review_refused,
    RejectionWithoutReason: rejection_without_reason,
    OtherOptionBloc: other_option_bloc,
    CompetenciesRefused: competencies_refused,
    BlocAlreadyPassed: bloc_already_passed,
}
