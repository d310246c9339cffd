"""The thesis service's one map from its domain errors to problems (registered by create_app)."""

from __future__ import annotations

from certifia_shared.errors import ErrorMap, unknown_candidate, withdrawn
from certifia_shared.problems import Problem, not_found
from certifia_thesis.domain.appeals import (
    AlreadyAppealed,
    AlreadyResolved,
    AppealNotAllowed,
    AppealRefused,
    AppealWindowClosed,
    NoAppeal,
    NotImpartial,
    UnknownDefence,
)
from certifia_thesis.domain.deposit import (
    DefenceAlreadyScheduled,
    DepositRefused,
    InvalidThesisFile,
    ThesisFileTooLarge,
)
from certifia_thesis.domain.eligibility import MIN_MONTHS_FTE, MissionRefused
from certifia_thesis.domain.model import (
    CandidateWithdrawn,
    DefenceNotHeldYet,
    DefenceNotScheduled,
    DefenceRefused,
    MissionConflict,
    ResitLimitReached,
    ThesisAlreadyPassed,
    UnknownCandidate,
    UnknownMission,
)
from certifia_thesis.domain.schedule import NoDeposit, ScheduleRefused


def mission_refused(exc: MissionRefused) -> Problem:
    error = {"field": exc.field, "message": exc.message, "minimum_months_fte": str(MIN_MONTHS_FTE)}
    if exc.months_fte is not None:
        error["months_fte"] = f"{exc.months_fte:.2f}"
    return Problem(422, "Mission not eligible", exc.message, type="mission-not-eligible", errors=[error])


def mission_conflict(exc: MissionConflict) -> Problem:
    return Problem(
        409,
        "Mission conflict",
        f"This mission (company and dates) is already registered with other details ({exc}).",
        type="mission-conflict",
        errors=[{"field": f, "message": "differs from the registered mission"} for f in exc.fields],
    )


def already_passed(exc: ThesisAlreadyPassed) -> Problem:
    return Problem(
        409,
        "Thesis already passed",
        f"Candidate {exc.candidate_id!r} already passed the thesis defence; that outcome is final.",
        type="thesis-already-passed",
    )


def not_scheduled(exc: DefenceNotScheduled) -> Problem:
    cid = exc.candidate_id
    return Problem(
        409,
        "Defence not scheduled",
        f"No scheduled defence of candidate {cid!r} waits for an outcome: schedule the defence first "
        f"(POST /candidates/{cid}/defence/schedule).",
        type="defence-not-scheduled",
    )


def not_held_yet(exc: DefenceNotHeldYet) -> Problem:
    return Problem(
        409,
        "Defence not held yet",
        f"The defence is scheduled for {exc.scheduled_at.isoformat()}; record its outcome once it has "
        "been held.",
        type="defence-not-held-yet",
        extensions={"scheduled_at": exc.scheduled_at.isoformat()},
    )


def already_scheduled(exc: DefenceAlreadyScheduled) -> Problem:
    return Problem(
        409,
        "Defence already scheduled",
        f"The defence is scheduled for {exc.scheduled_at.isoformat()}: the thesis the jury reads can no "
        "longer be replaced.",
        type="defence-already-scheduled",
        extensions={"scheduled_at": exc.scheduled_at.isoformat()},
    )


def no_deposit(exc: NoDeposit) -> Problem:
    cid = exc.candidate_id
    return Problem(
        409,
        "No thesis deposited",
        f"Candidate {cid!r} has deposited no thesis: deposit it first "
        f"(POST /candidates/{cid}/thesis/deposit).",
        type="no-thesis-deposit",
    )


def resit_limit(exc: ResitLimitReached) -> Problem:
    return Problem(
        409,
        "Resit limit reached",
        f"Candidate {exc.candidate_id!r} failed {exc.failures} defences; the regulation allows "
        f"{exc.limit} attempts (DEFENCE_MAX_ATTEMPTS): no new defence can be scheduled. A failure annulled "
        "on appeal does not count: contest a failed defence within the appeal window "
        "(POST /defences/{defence_id}/appeal).",
        type="resit-limit-reached",
        extensions={"limit": exc.limit, "failures": exc.failures},
    )


def appeal_not_allowed(exc: AppealNotAllowed) -> Problem:
    extensions = {}
    if isinstance(exc, AppealWindowClosed):
        extensions["deadline"] = exc.deadline.isoformat()
    return Problem(409, exc.title, f"{exc}.", type=exc.problem_type, extensions=extensions or None)


def already_appealed(exc: AlreadyAppealed) -> Problem:
    appeal = exc.appeal
    return Problem(
        409,
        "Defence already appealed",
        f"Defence {appeal.defence_id} is contested by appeal {appeal.id} ({appeal.status}); an outcome is "
        f"contested once. GET /defences/{appeal.defence_id}/appeal shows it.",
        type="already-appealed",
        extensions={"appeal_id": appeal.id, "appeal_status": appeal.status},
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


def not_impartial(exc: NotImpartial) -> Problem:
    return Problem(
        403,
        "Not impartial",
        f"You {exc.why}: another certification officer must resolve appeal {exc.appeal.id}.",
        type="not-impartial",
    )


def no_appeal(exc: NoAppeal) -> Problem:
    return Problem(
        404,
        "Appeal not found",
        f"No appeal contests defence {exc.defence_id}: open one (POST /defences/{exc.defence_id}/appeal).",
        type="not-found",
        field="defence_id",
    )


ERRORS: ErrorMap = {
    UnknownCandidate: unknown_candidate,
    UnknownMission: lambda exc: not_found("Mission", exc.mission_id, "mission_id"),
    CandidateWithdrawn: withdrawn,
    ThesisAlreadyPassed: already_passed,
    MissionRefused: mission_refused,
    MissionConflict: mission_conflict,
    DefenceRefused: lambda exc: Problem(
        422, "Invalid defence", exc.message, type="validation", field=exc.field
    ),
    DefenceNotScheduled: not_scheduled,
    DefenceNotHeldYet: not_held_yet,
    # the file first (413 above the limit, 422 otherwise), then what else a deposit may be refused for
    ThesisFileTooLarge: lambda exc: Problem(
        413, "Thesis file too large", exc.message, type="thesis-too-large", field="file"
    ),
    InvalidThesisFile: lambda exc: Problem(
        422, "Invalid thesis file", exc.message, type="validation", field=exc.field
    ),
    DepositRefused: lambda exc: Problem(
        422, "Thesis deposit refused", exc.message, type="validation", field=exc.field
    ),
    DefenceAlreadyScheduled: already_scheduled,
    ScheduleRefused: lambda exc: Problem(
        422, "Defence schedule refused", exc.message, type="validation", field=exc.field
    ),
    NoDeposit: no_deposit,
    ResitLimitReached: resit_limit,
    UnknownDefence: lambda exc: not_found("Defence", exc.defence_id, "defence_id"),
    NoAppeal: no_appeal,
    AppealRefused: lambda exc: Problem(
        422, "Invalid appeal", exc.message, type="validation", field=exc.field
    ),
    AppealNotAllowed: appeal_not_allowed,
    AlreadyAppealed: already_appealed,
    AlreadyResolved: already_resolved,
    NotImpartial: not_impartial,
}
