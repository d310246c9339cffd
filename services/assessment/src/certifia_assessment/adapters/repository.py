"""The assessment database. Never commits: the unit of work does."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from certifia_assessment.adapters.orm import (
    bloc_passes,
    candidates,
    competency_validations,
    criterion_validations,
    decisions,
    submissions,
)
from certifia_assessment.domain.model import Decision, Outcome, Submission


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class AssessmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # candidates --------------------------------------------------------------------------------------
    def candidate(self, candidate_id: str) -> dict[str, Any] | None:
        row = self.session.execute(select(candidates).where(candidates.c.id == candidate_id)).first()
        return _row(row) if row else None

    def add_candidate(self, **values: Any) -> None:
        self.session.execute(insert(candidates).values(**values))

    def set_option(self, candidate_id: str, option: str) -> None:
        self.session.execute(update(candidates).where(candidates.c.id == candidate_id).values(option=option))

    # decisions ---------------------------------------------------------------------------------------
    def add_decision(self, decision: Decision) -> None:
        self.session.execute(insert(decisions).values(**asdict(decision)))
        if decision.outcome == "validated":
            self.session.execute(
                insert(criterion_validations).values(
                    candidate_id=decision.candidate_id,
                    criterion_id=decision.criterion_id,
                    bloc=decision.bloc,
                    decision_id=decision.id,
                    validated_at=decision.decided_at,
                )
            )

    def latest_decision(self, candidate_id: str, criterion_id: str) -> Decision | None:
        row = self.session.execute(
            select(decisions)
            .where(decisions.c.candidate_id == candidate_id, decisions.c.criterion_id == criterion_id)
            .order_by(decisions.c.decided_at.desc(), decisions.c.id.desc())
            .limit(1)
        ).first()
        return Decision(**_row(row)) if row else None

    def validation_decision(self, candidate_id: str, criterion_id: str) -> Decision | None:
        row = self.session.execute(
            select(decisions)
            .join(criterion_validations, criterion_validations.c.decision_id == decisions.c.id)
            .where(
                criterion_validations.c.candidate_id == candidate_id,
                criterion_validations.c.criterion_id == criterion_id,
            )
        ).first()
        return Decision(**_row(row)) if row else None

    def decisions_of(self, candidate_id: str, bloc: str | None = None) -> list[Decision]:
        query = select(decisions).where(decisions.c.candidate_id == candidate_id)
        if bloc:
            query = query.where(decisions.c.bloc == bloc)
        query = query.order_by(decisions.c.decided_at, decisions.c.id)
        return [Decision(**_row(r)) for r in self.session.execute(query)]

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

    # competencies and blocs --------------------------------------------------------------------------
    def validated_competencies(self, candidate_id: str, bloc: str | None = None) -> set[str]:
        query = select(competency_validations.c.competency_id).where(
            competency_validations.c.candidate_id == candidate_id
        )
        if bloc:
            query = query.where(competency_validations.c.bloc == bloc)
        return set(self.session.scalars(query))

    def add_competency_validation(
        self, candidate_id: str, competency_id: str, bloc: str, at: datetime
    ) -> None:
        self.session.execute(
            insert(competency_validations).values(
                candidate_id=candidate_id, competency_id=competency_id, bloc=bloc, validated_at=at
            )
        )

    def passed_blocs(self, candidate_id: str) -> dict[str, dict[str, Any]]:
        rows = self.session.execute(select(bloc_passes).where(bloc_passes.c.candidate_id == candidate_id))
        return {r.bloc: _row(r) for r in rows}

    def add_bloc_pass(self, candidate_id: str, bloc: str, via: str, at: datetime) -> None:
        self.session.execute(
            insert(bloc_passes).values(candidate_id=candidate_id, bloc=bloc, via=via, passed_at=at)
        )

    # submissions -------------------------------------------------------------------------------------
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

    def set_submission_result(
        self, submission_id: str, *, status: str, report: dict[str, Any] | None, reason: str | None
    ) -> None:
        self.session.execute(
            update(submissions)
            .where(submissions.c.id == submission_id)
            .values(status=status, report=report, failure_reason=reason)
        )


def _submission(row: Any) -> Submission:
    values = _row(row)
    values.pop("idempotency_key", None)
    return Submission(**values)
