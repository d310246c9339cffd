"""Assessment rules: plain Python, no I/O.

A criterion is validated or rejected by a decision (a jury member, an officer, or automated grading).
A competency is validated once every criterion that validates it (``Referential.criteria_validating``)
is validated; a bloc is passed once all its competencies are. Validations are facts: once a criterion
is validated, a later decision cannot take it back. A rejection can be contested by an appeal (see
``appeals``); upheld, it leads to a new decision that validates the criterion.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from certifia_shared.referential import Competency, Referential

Outcome = Literal["validated", "rejected"]
DeciderRole = Literal["jury", "officer", "grading", "admin"]
OUTCOMES: tuple[Outcome, ...] = ("validated", "rejected")


@dataclass(frozen=True)
class Decision:
    id: str
    candidate_id: str
    bloc: str
    criterion_id: str
    criterion_code: str
    outcome: Outcome
    comment: str
    decided_by: str
    decided_by_role: DeciderRole
    decided_at: datetime
    submission_id: str | None = None
    earned_at: datetime | None = None
    """When the right this decision records was earned: the hand-in of the graded work, for an upheld
    appeal the contested decision's (the right to contest is earned with it), else the decision itself (None on decisions recorded before it was kept)."""

    @property
    def earned(self) -> datetime:
        return self.earned_at or self.decided_at


class RejectionWithoutReason(ValueError):
    """A person rejected a criterion without saying why: the candidate could neither learn from it nor
    contest it."""


def check_reasoned(outcome: Outcome, comment: str) -> None:
    if outcome == "rejected" and not comment.strip():
        raise RejectionWithoutReason("a rejection needs a comment that tells the candidate why")


class CriterionAlreadyValidated(Exception):
    """The criterion is validated already; a rejection cannot undo it."""

    def __init__(self, criterion_id: str, decision_id: str) -> None:
        super().__init__(f"criterion {criterion_id} was validated by decision {decision_id}")
        self.criterion_id = criterion_id
        self.decision_id = decision_id


class UnknownCriterion(LookupError):
    def __init__(self, criterion_id: str) -> None:
        super().__init__(criterion_id)
        self.criterion_id = criterion_id


def check_decision_allowed(current: Decision | None, outcome: Outcome) -> bool:
    """Whether a new decision should be recorded for a criterion whose latest decision is ``current``.

    Returns False when it would change nothing (validated again: the repeat is idempotent), raises
    :class:`CriterionAlreadyValidated` when it would undo a validation, True otherwise (first decision,
    or a new attempt after a rejection).
    """
    if current is None or current.outcome == "rejected":
        return True
    if outcome == "validated":
        return False
    raise CriterionAlreadyValidated(current.criterion_id, current.id)


def competencies_now_validated(
    referential: Referential,
    bloc_code: str,
    validated_criteria: Iterable[str],
    already_validated: Iterable[str],
) -> list[Competency]:
    """Competencies of the bloc whose criteria are all validated and that were not validated before."""
    done = set(validated_criteria)
    before = set(already_validated)
    out = []
    for competency in referential.bloc(bloc_code).competencies:
        if competency.id in before:
            continue
        needed = {c.id for c in referential.criteria_validating(competency.id)}
        if needed and needed <= done:
            out.append(competency)
    return out


def bloc_is_passed(referential: Referential, bloc_code: str, validated_competencies: Iterable[str]) -> bool:
    done = set(validated_competencies)
    return all(c.id in done for c in referential.bloc(bloc_code).competencies)


@dataclass(frozen=True)
class CompetencyProgress:
    id: str
    code: str
    validated: bool
    criteria_validated: int
    criteria_total: int


@dataclass(frozen=True)
class BlocProgress:
    code: str
    title: str
    passed: bool
    competencies: tuple[CompetencyProgress, ...]
    criteria_validated: int
    criteria_rejected: int
    criteria_total: int


@dataclass(frozen=True)
class _BlocShape:
    """What a bloc's progress counts, read from the referential once: (competency id, code, the criteria
    validating it) per competency, and the bloc's criteria."""

    code: str
    title: str
    competencies: tuple[tuple[str, str, tuple[str, ...]], ...]
    criteria: tuple[str, ...]


_SHAPES: dict[int, tuple[Referential, dict[str, _BlocShape]]] = {}


def _bloc_shape(referential: Referential, bloc_code: str) -> _BlocShape:
    """The bloc's shape, remembered per referential (its lookups were a tenth of a progress read's CPU under
    bench-api, issue 15). A referential is immutable; a few versions are loaded at most."""
    known = _SHAPES.get(id(referential))
    if known is None or known[0] is not referential:
        if len(_SHAPES) >= 8:
            _SHAPES.clear()
        shapes = {
            b.code: _BlocShape(
                b.code,
                b.title,
                tuple(
                    (c.id, c.code, tuple(cr.id for cr in referential.criteria_validating(c.id)))
                    for c in b.competencies
                ),
                tuple(cr.id for cr in b.criteria),
            )
            for b in referential.blocs
        }
        known = _SHAPES[id(referential)] = (referential, shapes)
    shape = known[1].get(str(bloc_code).strip().upper())
    if shape is None:
        referential.bloc(bloc_code)  # raises the referential's own error, naming the blocs it knows
        raise AssertionError(bloc_code)  # pragma: no cover - every bloc it knows has a shape
    return shape


def bloc_progress(
    referential: Referential,
    bloc_code: str,
    latest_outcomes: dict[str, Outcome],
    validated_competencies: Iterable[str],
    passed: bool,
) -> BlocProgress:
    """Where a candidate stands in one bloc, from the latest outcome per criterion id."""
    bloc = _bloc_shape(referential, bloc_code)
    done = set(validated_competencies)
    validated = {cid for cid, outcome in latest_outcomes.items() if outcome == "validated"}
    comps = tuple(
        CompetencyProgress(cid, code, cid in done, sum(1 for c in needed if c in validated), len(needed))
        for cid, code, needed in bloc.competencies
    )
    ids = bloc.criteria
    return BlocProgress(
        code=bloc.code,
        title=bloc.title,
        passed=passed,
        competencies=comps,
        criteria_validated=sum(1 for i in ids if i in validated),
        criteria_rejected=sum(1 for i in ids if latest_outcomes.get(i) == "rejected"),
        criteria_total=len(ids),
    )


@dataclass(frozen=True)
class Submission:
    id: str
    candidate_id: str
    evaluation_id: str
    digest: str
    size_bytes: int
    media_type: str
    filename: str | None
    pack_id: str | None
    status: Literal["received", "grading", "graded", "failed"]
    received_at: datetime
    report: dict[str, object] | None = None
    failure_reason: str | None = None


class UnknownEvaluation(LookupError):
    def __init__(self, evaluation_id: str) -> None:
        super().__init__(evaluation_id)
        self.evaluation_id = evaluation_id


class AttemptLimitReached(Exception):
    """The candidate has had ``limit`` submissions graded for this evaluation (the setting
    GRADING_MAX_ATTEMPTS_PER_EVALUATION): another one is not graded."""

    def __init__(self, candidate_id: str, evaluation_id: str, limit: int, used: int) -> None:
        super().__init__(f"{candidate_id} used {used} of {limit} graded attempts for {evaluation_id}")
        self.candidate_id = candidate_id
        self.evaluation_id = evaluation_id
        self.limit = limit
        self.used = used
