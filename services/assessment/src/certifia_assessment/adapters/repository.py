"""The assessment database: candidates, decisions (and the validations they give: criteria, competencies,
blocs), submissions and appeals. Never commits: the unit of work does, and builds these
(service_layer.unit_of_work)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BindParameter, CursorResult, bindparam, insert, literal, select, union_all, update
from sqlalchemy.orm import Session

from certifia_assessment.adapters.orm import (
    appeals,
    bloc_passes,
    candidates,
    competency_validations,
    criterion_validations,
    decisions,
    submissions,
)
from certifia_assessment.domain.appeals import Appeal, Resolution
from certifia_assessment.domain.model import Decision, Outcome, Submission


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _decision(row: Any) -> Decision:
    return Decision(**_row(row))


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


class CandidateRepository(_Repository):
    """The candidates assessment knows (from candidate.enrolled), their option and withdrawal.

    A candidate is read once per unit of work (a decision's route, its use case and its rules each asked:
    three queries for one row) and again after this repository writes it."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._read: dict[str, dict[str, Any] | None] = {}

    def candidate(self, candidate_id: str) -> dict[str, Any] | None:
        if candidate_id not in self._read:
            row = self.session.execute(select(candidates).where(candidates.c.id == candidate_id)).first()
            self._read[candidate_id] = _row(row) if row else None
        found = self._read[candidate_id]
        return dict(found) if found is not None else None

    def add_candidate(self, **values: Any) -> None:
        self._read.pop(values.get("id", ""), None)
        self.session.execute(insert(candidates).values(**values))

    def set_withdrawn(
        self,
        candidate_id: str,
        at: datetime,
        *,
        by: str | None = None,
        by_role: str | None = None,
        reason: str | None = None,
    ) -> None:
        """The first withdrawal stands (a replay changes nothing); who recorded it, in which role and why."""
        self._read.pop(candidate_id, None)
        self.session.execute(
            update(candidates)
            .where(candidates.c.id == candidate_id, candidates.c.withdrawn_at.is_(None))
            .values(withdrawn_at=at, withdrawn_by=by, withdrawn_by_role=by_role, withdrawal_reason=reason)
        )

    def set_option(self, candidate_id: str, option: str) -> None:
        self._read.pop(candidate_id, None)
        self.session.execute(update(candidates).where(candidates.c.id == candidate_id).values(option=option))


def _standing_query() -> Any:
    d, cv, kv, bp = decisions, criterion_validations, competency_validations, bloc_passes
    cid: BindParameter[str] = bindparam("candidate_id")
    return union_all(
        select(
            literal("decision").label("kind"),
            d.c.criterion_id.label("id"),
            d.c.outcome.label("outcome"),
            d.c.decided_at.label("at"),
            d.c.id.label("ref"),
        ).where(d.c.candidate_id == cid),
        select(
            literal("criterion"), cv.c.criterion_id, literal("validated"), cv.c.validated_at, cv.c.decision_id
        ).where(cv.c.candidate_id == cid),
        select(
            literal("competency"), kv.c.competency_id, literal(""), kv.c.validated_at, kv.c.competency_id
        ).where(kv.c.candidate_id == cid),
        select(literal("pass"), bp.c.bloc, literal(""), bp.c.passed_at, bp.c.bloc).where(
            bp.c.candidate_id == cid
        ),
    )


_STANDING = _standing_query()  # built once: its cache key is computed once, not on every progress read


class DecisionRepository(_Repository):
    """Decisions per criterion and the validations they give (criteria, then competencies and blocs)."""

    def add_decision(self, decision: Decision) -> None:
        # values as parameters of cached statements (.values(...) compiled a new statement per decision)
        self.session.execute(insert(decisions), asdict(decision))
        if decision.outcome == "validated":
            self.session.execute(
                insert(criterion_validations),
                {
                    "candidate_id": decision.candidate_id,
                    "criterion_id": decision.criterion_id,
                    "bloc": decision.bloc,
                    "decision_id": decision.id,
                    "validated_at": decision.decided_at,
                },
            )

    def latest_decision(self, candidate_id: str, criterion_id: str) -> Decision | None:
        row = self.session.execute(
            select(decisions)
            .where(decisions.c.candidate_id == candidate_id, decisions.c.criterion_id == criterion_id)
            .order_by(decisions.c.decided_at.desc(), decisions.c.id.desc())
            .limit(1)
        ).first()
        return _decision(row) if row else None

    def decision(self, decision_id: str) -> Decision | None:
        row = self.session.execute(select(decisions).where(decisions.c.id == decision_id)).first()
        return _decision(row) if row else None

    def decision_in_force(self, candidate_id: str, criterion_id: str) -> Decision | None:
        """The validation if the criterion is validated (a validation is final), else the latest decision:
        one query (validation_decision, then latest_decision, were two for every new decision)."""
        validating = criterion_validations.c.decision_id
        row = self.session.execute(
            select(decisions)
            .outerjoin(criterion_validations, validating == decisions.c.id)
            .where(decisions.c.candidate_id == candidate_id, decisions.c.criterion_id == criterion_id)
            .order_by(validating.is_(None), decisions.c.decided_at.desc(), decisions.c.id.desc())
            .limit(1)
        ).first()
        return _decision(row) if row else None

    def validation_decision(self, candidate_id: str, criterion_id: str) -> Decision | None:
        row = self.session.execute(
            select(decisions)
            .join(criterion_validations, criterion_validations.c.decision_id == decisions.c.id)
            .where(
                criterion_validations.c.candidate_id == candidate_id,
                criterion_validations.c.criterion_id == criterion_id,
            )
        ).first()
        return _decision(row) if row else None

    def decisions_of(self, candidate_id: str, bloc: str | None = None) -> list[Decision]:
        query = select(decisions).where(decisions.c.candidate_id == candidate_id)
        if bloc:
            query = query.where(decisions.c.bloc == bloc)
        query = query.order_by(decisions.c.decided_at, decisions.c.id)
        return [_decision(r) for r in self.session.execute(query)]

    def latest_outcomes(self, candidate_id: str) -> dict[str, Outcome]:
        """Latest outcome per criterion; a validation is final whatever came after."""
        out: dict[str, Outcome] = {}
        for d in self.decisions_of(candidate_id):
            out[d.criterion_id] = d.outcome
        for criterion_id in self.validated_criteria(candidate_id):
            out[criterion_id] = "validated"
        return out

    def validated_criteria(self, candidate_id: str, bloc: str | None = None) -> set[str]:
        query = select(criterion_validations.c.criterion_id).where(
            criterion_validations.c.candidate_id == candidate_id
        )
        if bloc:
            query = query.where(criterion_validations.c.bloc == bloc)
        return set(self.session.scalars(query))

    # competencies and blocs
    def bloc_standing(self, candidate_id: str, bloc: str) -> tuple[set[str], set[str], bool]:
        """The bloc's validated criteria, its validated competencies and whether it is passed, in one query
        (what the rules read after each validation; three queries before, issue 15)."""
        cv, kv, bp = criterion_validations, competency_validations, bloc_passes
        rows = self.session.execute(
            union_all(
                select(literal("criterion").label("kind"), cv.c.criterion_id.label("id")).where(
                    cv.c.candidate_id == candidate_id, cv.c.bloc == bloc
                ),
                select(literal("competency"), kv.c.competency_id).where(
                    kv.c.candidate_id == candidate_id, kv.c.bloc == bloc
                ),
                select(literal("pass"), bp.c.bloc).where(
                    bp.c.candidate_id == candidate_id, bp.c.bloc == bloc
                ),
            )
        ).all()
        criteria = {r.id for r in rows if r.kind == "criterion"}
        competencies = {r.id for r in rows if r.kind == "competency"}
        return criteria, competencies, any(r.kind == "pass" for r in rows)

    def standing(self, candidate_id: str) -> tuple[dict[str, Outcome], set[str], set[str]]:
        """The candidate's latest outcome per criterion (:meth:`latest_outcomes`), validated competencies and
        passed blocs, in one query: what a progress read needs (four queries before, issue 15)."""
        rows = self.session.execute(_STANDING, {"candidate_id": candidate_id}).all()
        outcomes: dict[str, Outcome] = {}
        for r in sorted((r for r in rows if r.kind == "decision"), key=lambda r: (r.at, r.ref)):
            outcomes[r.id] = r.outcome
        for r in rows:
            if r.kind == "criterion":
                outcomes[r.id] = "validated"  # a validation is final whatever came after
        competencies = {r.id for r in rows if r.kind == "competency"}
        return outcomes, competencies, {r.id for r in rows if r.kind == "pass"}

    def validated_competencies(self, candidate_id: str, bloc: str | None = None) -> set[str]:
        query = select(competency_validations.c.competency_id).where(
            competency_validations.c.candidate_id == candidate_id
        )
        if bloc:
            query = query.where(competency_validations.c.bloc == bloc)
        return set(self.session.scalars(query))

    def add_competency_validation(
        self,
        candidate_id: str,
        competency_id: str,
        bloc: str,
        at: datetime,
        *,
        earned_at: datetime | None = None,
    ) -> None:
        self.session.execute(
            insert(competency_validations),
            {
                "candidate_id": candidate_id,
                "competency_id": competency_id,
                "bloc": bloc,
                "validated_at": at,
                "earned_at": earned_at or at,
            },
        )

    def passed_blocs(self, candidate_id: str) -> dict[str, dict[str, Any]]:
        rows = self.session.execute(select(bloc_passes).where(bloc_passes.c.candidate_id == candidate_id))
        return {r.bloc: _row(r) for r in rows}

    def add_bloc_pass(
        self, candidate_id: str, bloc: str, via: str, at: datetime, *, earned_at: datetime | None = None
    ) -> None:
        self.session.execute(
            insert(bloc_passes),
            {
                "candidate_id": candidate_id,
                "bloc": bloc,
                "via": via,
                "passed_at": at,
                "earned_at": earned_at or at,
            },
        )

    def validations_earned_at(self, candidate_id: str, criterion_ids: Iterable[str]) -> dict[str, datetime]:
        """When each validated criterion among ``criterion_ids`` was earned (its validation's earned_at, its
        decision time on rows older than it)."""
        rows = self.session.execute(
            select(decisions.c.criterion_id, decisions.c.earned_at, decisions.c.decided_at)
            .join(criterion_validations, criterion_validations.c.decision_id == decisions.c.id)
            .where(
                criterion_validations.c.candidate_id == candidate_id,
                criterion_validations.c.criterion_id.in_(list(criterion_ids)),
            )
        )
        return {criterion: earned or decided for criterion, earned, decided in rows}

    def competencies_earned_at(self, candidate_id: str, bloc: str) -> datetime | None:
        """The latest time one of the bloc's validated competencies was earned (None: none validated)."""
        rows = self.session.execute(
            select(competency_validations.c.earned_at, competency_validations.c.validated_at).where(
                competency_validations.c.candidate_id == candidate_id, competency_validations.c.bloc == bloc
            )
        )
        return max((earned or validated for earned, validated in rows), default=None)


class SubmissionRepository(_Repository):
    """Submissions (hand-ins) and their grading results."""

    def add_submission(self, submission: Submission, idempotency_key: str | None) -> None:
        self.session.execute(
            insert(submissions).values(**asdict(submission), idempotency_key=idempotency_key)
        )

    def submission(self, submission_id: str) -> Submission | None:
        row = self.session.execute(select(submissions).where(submissions.c.id == submission_id)).first()
        return _submission(row) if row else None

    def submission_by_key(self, candidate_id: str, key: str) -> Submission | None:
        row = self.session.execute(
            select(submissions).where(
                submissions.c.candidate_id == candidate_id, submissions.c.idempotency_key == key
            )
        ).first()
        return _submission(row) if row else None

    def submissions_of(self, candidate_id: str) -> list[Submission]:
        rows = self.session.execute(
            select(submissions)
            .where(submissions.c.candidate_id == candidate_id)
            .order_by(submissions.c.received_at, submissions.c.id)
        )
        return [_submission(r) for r in rows]

    def graded_attempts(self, candidate_id: str, *, lock: bool = False) -> dict[str, int]:
        """Per evaluation, how many of the candidate's submissions asked for automated grading, less those
        whose grading failed for the infrastructure (they cost the candidate nothing). ``lock``
        locks the candidate's row first (PostgreSQL), so that two hand-ins at once count one after the
        other and a limit cannot be passed by racing it (SQLite serialises writers already)."""
        if lock:
            self.session.execute(
                select(candidates.c.id).where(candidates.c.id == candidate_id).with_for_update()
            )
        rows = self.session.execute(
            select(submissions.c.evaluation_id, submissions.c.status, submissions.c.report).where(
                submissions.c.candidate_id == candidate_id, submissions.c.pack_id.is_not(None)
            )
        )
        counts: dict[str, int] = {}
        for evaluation, status, report in rows:
            # grading.failed for the infrastructure (its ``cause``) is not the candidate's attempt
            if status == "failed" and isinstance(report, dict) and report.get("cause") == "infrastructure":
                continue
            counts[evaluation] = counts.get(evaluation, 0) + 1
        return counts

    def set_submission_result(
        self, submission_id: str, *, status: str, report: dict[str, Any] | None, reason: str | None
    ) -> None:
        self.session.execute(
            update(submissions)
            .where(submissions.c.id == submission_id)
            .values(status=status, report=report, failure_reason=reason)
        )


class AppealRepository(_Repository):
    """Appeals against rejections and their resolution."""

    def add_appeal(self, appeal: Appeal) -> None:
        """Insert an open appeal; IntegrityError (at once or at commit) if its decision has one already."""
        values = asdict(appeal)
        values.pop("resolution")
        self.session.execute(insert(appeals).values(**values, status="open"))

    def appeal(self, appeal_id: str) -> Appeal | None:
        row = self.session.execute(select(appeals).where(appeals.c.id == appeal_id)).first()
        return _appeal(row) if row else None

    def appeal_of_decision(self, decision_id: str) -> Appeal | None:
        row = self.session.execute(select(appeals).where(appeals.c.decision_id == decision_id)).first()
        return _appeal(row) if row else None

    def appeals_of(self, candidate_id: str) -> list[Appeal]:
        rows = self.session.execute(
            select(appeals)
            .where(appeals.c.candidate_id == candidate_id)
            .order_by(appeals.c.opened_at, appeals.c.id)
        )
        return [_appeal(r) for r in rows]

    def appeals_by_status(self, status: str | None = None) -> list[Appeal]:
        """Every candidate's appeals (``status``: open or resolved only), oldest first."""
        query = select(appeals)
        if status:
            query = query.where(appeals.c.status == status)
        return [_appeal(r) for r in self.session.execute(query.order_by(appeals.c.opened_at, appeals.c.id))]

    def record_resolution(self, appeal_id: str, r: Resolution) -> bool:
        """Resolve the appeal if it is still open; False when another transaction resolved it first (on
        PostgreSQL the conditional UPDATE waits for that transaction's row lock, then matches nothing)."""
        result = self.session.execute(
            update(appeals)
            .where(appeals.c.id == appeal_id, appeals.c.status == "open")
            .values(
                status="resolved",
                outcome=r.outcome,
                reasoning=r.reasoning,
                resolved_by=r.resolved_by,
                resolved_by_role=r.resolved_by_role,
                resolved_at=r.resolved_at,
                resolution_decision_id=r.decision_id,
            )
        )
        return cast(CursorResult[Any], result).rowcount == 1

    def set_resolution_decision(self, appeal_id: str, decision_id: str) -> None:
        self.session.execute(
            update(appeals).where(appeals.c.id == appeal_id).values(resolution_decision_id=decision_id)
        )


def _appeal(row: Any) -> Appeal:
    v = _row(row)
    resolution = None
    if v["status"] == "resolved":
        resolution = Resolution(
            outcome=v["outcome"],
            reasoning=v["reasoning"],
            resolved_by=v["resolved_by"],
            resolved_by_role=v["resolved_by_role"],
            resolved_at=v["resolved_at"],
            decision_id=v["resolution_decision_id"],
        )
    return Appeal(
        id=v["id"],
        candidate_id=v["candidate_id"],
        decision_id=v["decision_id"],
        bloc=v["bloc"],
        criterion_id=v["criterion_id"],
        criterion_code=v["criterion_code"],
        grounds=v["grounds"],
        opened_by=v["opened_by"],
        opened_by_role=v["opened_by_role"],
        opened_at=v["opened_at"],
        resolution=resolution,
    )


def _submission(row: Any) -> Submission:
    values = _row(row)
    values.pop("idempotency_key", None)
    return Submission(**values)
