"""In-memory stand-ins for assessment's unit of work and repositories (same method names and return types as
``adapters/``), so that handler tests run without a database. A unique key the database enforces raises
:class:`~certifia_shared.db.Conflict` here, as the real unit of work turns the IntegrityError into one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from certifia_assessment.domain.appeals import Appeal, Resolution
from certifia_assessment.domain.governance import Accommodation, AuditEntry
from certifia_assessment.domain.model import Decision, Outcome, Submission
from certifia_assessment.domain.proposals import Proposal, ProposalStatus, Review
from certifia_assessment.domain.vae import VaeDecision
from certifia_shared.db import Conflict
from certifia_shared.fakes import FakeRepository, FakeUnitOfWork

CANDIDATE_COLUMNS = (
    "id",
    "path",
    "option",
    "given_name",
    "family_name",
    "enrolled_at",
    "withdrawn_at",
    "withdrawn_by",
    "withdrawn_by_role",
    "withdrawal_reason",
    "lms_client",
)


class FakeCandidateRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def candidate(self, candidate_id: str) -> dict[str, Any] | None:
        row = self.rows.get(candidate_id)
        return dict(row) if row else None

    def add_candidate(self, **values: Any) -> None:
        if values["id"] in self.rows:
            raise Conflict(f"candidates.id {values['id']}")
        self.rows[values["id"]] = {column: values.get(column) for column in CANDIDATE_COLUMNS}

    def set_withdrawn(
        self,
        candidate_id: str,
        at: datetime,
        *,
        by: str | None = None,
        by_role: str | None = None,
        reason: str | None = None,
    ) -> None:
        row = self.rows.get(candidate_id)
        if row is not None and row["withdrawn_at"] is None:
            row.update(withdrawn_at=at, withdrawn_by=by, withdrawn_by_role=by_role, withdrawal_reason=reason)

    def set_option(self, candidate_id: str, option: str) -> None:
        if candidate_id in self.rows:
            self.rows[candidate_id]["option"] = option


class FakeDecisionRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Decision] = {}
        self.criterion_validations: dict[tuple[str, str], tuple[str, str]] = {}
        """(candidate, criterion) -> (bloc, decision id): the unique key of a validation."""
        self.competency_validations: dict[tuple[str, str], dict[str, Any]] = {}
        self.bloc_passes: dict[tuple[str, str], dict[str, Any]] = {}

    def add_decision(self, decision: Decision) -> None:
        key = (decision.candidate_id, decision.criterion_id)
        if decision.id in self.rows:
            raise Conflict(f"decisions.id {decision.id}")
        if decision.outcome == "validated" and key in self.criterion_validations:
            raise Conflict(f"criterion_validations {key}")
        self.rows[decision.id] = decision
        if decision.outcome == "validated":
            self.criterion_validations[key] = (decision.bloc, decision.id)

    def latest_decision(self, candidate_id: str, criterion_id: str) -> Decision | None:
        found = [d for d in self.decisions_of(candidate_id) if d.criterion_id == criterion_id]
        return found[-1] if found else None

    def decision(self, decision_id: str) -> Decision | None:
        return self.rows.get(decision_id)

    def decision_in_force(self, candidate_id: str, criterion_id: str) -> Decision | None:
        return self.validation_decision(candidate_id, criterion_id) or self.latest_decision(
            candidate_id, criterion_id
        )

    def validation_decision(self, candidate_id: str, criterion_id: str) -> Decision | None:
        validation = self.criterion_validations.get((candidate_id, criterion_id))
        return self.rows[validation[1]] if validation else None

    def decisions_of(self, candidate_id: str, bloc: str | None = None) -> list[Decision]:
        found = [
            d for d in self.rows.values() if d.candidate_id == candidate_id and (not bloc or d.bloc == bloc)
        ]
        return sorted(found, key=lambda d: (d.decided_at, d.id))

    def latest_outcomes(self, candidate_id: str) -> dict[str, Outcome]:
        out: dict[str, Outcome] = {d.criterion_id: d.outcome for d in self.decisions_of(candidate_id)}
        for criterion_id in self.validated_criteria(candidate_id):
            out[criterion_id] = "validated"
        return out

    def validated_criteria(self, candidate_id: str, bloc: str | None = None) -> set[str]:
        return {
            criterion
            for (candidate, criterion), (of_bloc, _) in self.criterion_validations.items()
            if candidate == candidate_id and (not bloc or of_bloc == bloc)
        }

    def bloc_standing(self, candidate_id: str, bloc: str) -> tuple[set[str], set[str], bool]:
        return (
            self.validated_criteria(candidate_id, bloc),
            self.validated_competencies(candidate_id, bloc),
            bloc in self.passed_blocs(candidate_id),
        )

    def standing(self, candidate_id: str) -> tuple[dict[str, Outcome], set[str], set[str]]:
        return (
            self.latest_outcomes(candidate_id),
            self.validated_competencies(candidate_id),
            set(self.passed_blocs(candidate_id)),
        )

    def validated_competencies(self, candidate_id: str, bloc: str | None = None) -> set[str]:
        return {
            competency
            for (candidate, competency), row in self.competency_validations.items()
            if candidate == candidate_id and (not bloc or row["bloc"] == bloc)
        }

    def add_competency_validation(
        self,
        candidate_id: str,
        competency_id: str,
        bloc: str,
        at: datetime,
        *,
        earned_at: datetime | None = None,
    ) -> None:
        key = (candidate_id, competency_id)
        if key in self.competency_validations:
            raise Conflict(f"competency_validations {key}")
        self.competency_validations[key] = {"bloc": bloc, "validated_at": at, "earned_at": earned_at or at}

    def passed_blocs(self, candidate_id: str) -> dict[str, dict[str, Any]]:
        return {
            bloc: dict(row)
            for (candidate, bloc), row in self.bloc_passes.items()
            if candidate == candidate_id
        }

    def add_bloc_pass(
        self, candidate_id: str, bloc: str, via: str, at: datetime, *, earned_at: datetime | None = None
    ) -> None:
        if (candidate_id, bloc) in self.bloc_passes:
            raise Conflict(f"bloc_passes {(candidate_id, bloc)}")
        self.bloc_passes[(candidate_id, bloc)] = {
            "candidate_id": candidate_id,
            "bloc": bloc,
            "via": via,
            "passed_at": at,
            "earned_at": earned_at or at,
        }

    def validations_earned_at(self, candidate_id: str, criterion_ids: Iterable[str]) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        for criterion in criterion_ids:
            decision = self.validation_decision(candidate_id, criterion)
            if decision is not None:
                out[criterion] = decision.earned_at or decision.decided_at
        return out

    def competencies_earned_at(self, candidate_id: str, bloc: str) -> datetime | None:
        return max(
            (
                row["earned_at"] or row["validated_at"]
                for (candidate, _), row in self.competency_validations.items()
                if candidate == candidate_id and row["bloc"] == bloc
            ),
            default=None,
        )


class FakeSubmissionRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, tuple[Submission, str | None]] = {}

    def add_submission(self, submission: Submission, idempotency_key: str | None) -> None:
        if submission.id in self.rows:
            raise Conflict(f"submissions.id {submission.id}")
        if idempotency_key and self.submission_by_key(submission.candidate_id, idempotency_key):
            raise Conflict("uq_submissions_idempotency")
        self.rows[submission.id] = (submission, idempotency_key)

    def submission(self, submission_id: str) -> Submission | None:
        row = self.rows.get(submission_id)
        return row[0] if row else None

    def submission_by_key(self, candidate_id: str, key: str) -> Submission | None:
        return next((s for s, k in self.rows.values() if s.candidate_id == candidate_id and k == key), None)

    def submissions_of(self, candidate_id: str) -> list[Submission]:
        found = [s for s, _ in self.rows.values() if s.candidate_id == candidate_id]
        return sorted(found, key=lambda s: (s.received_at, s.id))

    def graded_attempts(self, candidate_id: str, *, lock: bool = False) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.submissions_of(candidate_id):
            if s.pack_id is None:
                continue
            report = s.report
            if s.status == "failed" and isinstance(report, dict) and report.get("cause") == "infrastructure":
                continue
            counts[s.evaluation_id] = counts.get(s.evaluation_id, 0) + 1
        return counts

    def set_submission_result(
        self, submission_id: str, *, status: str, report: dict[str, Any] | None, reason: str | None
    ) -> None:
        submission, key = self.rows[submission_id]
        changed = replace(submission, status=status, report=report, failure_reason=reason)  # type: ignore[arg-type]
        self.rows[submission_id] = (changed, key)


class FakeAppealRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Appeal] = {}

    def add_appeal(self, appeal: Appeal) -> None:
        if appeal.id in self.rows or self.appeal_of_decision(appeal.decision_id) is not None:
            raise Conflict("uq_appeals_decision")
        self.rows[appeal.id] = replace(appeal, resolution=None)

    def appeal(self, appeal_id: str) -> Appeal | None:
        return self.rows.get(appeal_id)

    def appeal_of_decision(self, decision_id: str) -> Appeal | None:
        return next((a for a in self.rows.values() if a.decision_id == decision_id), None)

    def appeals_of(self, candidate_id: str) -> list[Appeal]:
        return sorted(
            (a for a in self.rows.values() if a.candidate_id == candidate_id),
            key=lambda a: (a.opened_at, a.id),
        )

    def appeals_by_status(self, status: str | None = None) -> list[Appeal]:
        found = [a for a in self.rows.values() if not status or a.status == status]
        return sorted(found, key=lambda a: (a.opened_at, a.id))

    def record_resolution(self, appeal_id: str, r: Resolution) -> bool:
        appeal = self.rows.get(appeal_id)
        if appeal is None or appeal.resolution is not None:
            return False
        self.rows[appeal_id] = replace(appeal, resolution=r)
        return True

    def set_resolution_decision(self, appeal_id: str, decision_id: str) -> None:
        appeal = self.rows[appeal_id]
        assert appeal.resolution is not None
        self.rows[appeal_id] = replace(appeal, resolution=replace(appeal.resolution, decision_id=decision_id))


class FakeGovernanceRepository(FakeRepository):
    def __init__(self) -> None:
        self.vae_decisions: dict[str, VaeDecision] = {}
        self.accommodations: dict[str, Accommodation] = {}
        self.thesis_entries: dict[str, tuple[str, AuditEntry]] = {}

    def add_vae_decision(self, d: VaeDecision) -> None:
        if d.id in self.vae_decisions:
            raise Conflict(f"vae_decisions.id {d.id}")
        self.vae_decisions[d.id] = d

    def vae_decisions_of(self, candidate_id: str, bloc: str | None = None) -> list[VaeDecision]:
        found = [
            d
            for d in self.vae_decisions.values()
            if d.candidate_id == candidate_id and (not bloc or d.bloc == bloc)
        ]
        return sorted(found, key=lambda d: (d.decided_at, d.id))

    def latest_vae_decision(self, candidate_id: str, bloc: str) -> VaeDecision | None:
        decisions = self.vae_decisions_of(candidate_id, bloc)
        return decisions[-1] if decisions else None

    def add_accommodation(self, a: Accommodation) -> None:
        self.accommodations.setdefault(a.id, a)  # a replay of the same grant adds nothing

    def accommodations_of(self, candidate_id: str) -> list[Accommodation]:
        found = [a for a in self.accommodations.values() if a.candidate_id == candidate_id]
        return sorted(found, key=lambda a: (a.granted_at, a.id))

    def extra_time_factor(self, candidate_id: str) -> float | None:
        grants = self.accommodations_of(candidate_id)
        return grants[-1].extra_time_factor if grants else None

    def add_thesis_entry(self, event_id: str, candidate_id: str, entry: AuditEntry) -> None:
        self.thesis_entries.setdefault(event_id, (candidate_id, entry))  # once per event

    def thesis_entries_of(self, candidate_id: str) -> list[AuditEntry]:
        found = [(e.at, event_id, e) for event_id, (c, e) in self.thesis_entries.items() if c == candidate_id]
        return [e for _, _, e in sorted(found, key=lambda t: (t[0], t[1]))]


class FakeProposalRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Proposal] = {}
        self.reviews: dict[str, list[Review]] = {}

    def add(self, proposal: Proposal) -> None:
        if proposal.id in self.rows:
            raise Conflict(f"verdict_proposals.id {proposal.id}")
        self.rows[proposal.id] = replace(proposal, reviews=())

    def get(self, proposal_id: str) -> Proposal | None:
        proposal = self.rows.get(proposal_id)
        return self._with_reviews(proposal) if proposal else None

    def find(
        self,
        *,
        status: str | tuple[str, ...] | None = None,
        candidate_id: str | None = None,
        evaluation_id: str | None = None,
        limit: int = 500,
    ) -> list[Proposal]:
        statuses = status if isinstance(status, tuple) else (status,) if status else ()
        found = [
            p
            for p in self.rows.values()
            if (not statuses or p.status in statuses)
            and (not candidate_id or p.candidate_id == candidate_id)
            and (not evaluation_id or p.evaluation_id == evaluation_id)
        ]
        return [self._with_reviews(p) for p in sorted(found, key=lambda p: (p.proposed_at, p.id))[:limit]]

    def add_review(self, proposal_id: str, review: Review) -> None:
        reviews = self.reviews.setdefault(proposal_id, [])
        if any(r.reviewed_by == review.reviewed_by for r in reviews):
            raise Conflict(f"verdict_reviews {(proposal_id, review.reviewed_by)}")
        reviews.append(review)

    def move(
        self,
        proposal_id: str,
        *,
        from_: ProposalStatus,
        to: ProposalStatus,
        decision_id: str | None = None,
        at: datetime | None = None,
    ) -> bool:
        proposal = self.rows.get(proposal_id)
        if proposal is None or proposal.status != from_:
            return False
        changes: dict[str, Any] = {"status": to}
        if to == "decided":
            changes.update(decision_id=decision_id, decided_at=at)
        self.rows[proposal_id] = replace(proposal, **changes)
        return True

    def _with_reviews(self, proposal: Proposal) -> Proposal:
        reviews = sorted(self.reviews.get(proposal.id, []), key=lambda r: r.reviewed_at)
        return replace(proposal, reviews=tuple(reviews))


class FakeAssessmentUnitOfWork(FakeUnitOfWork):
    """``uow.candidates``, ``uow.decisions``, ``uow.submissions``, ``uow.appeals``, ``uow.governance`` and
    ``uow.proposals`` in memory; what a block committed stays, the rest is dropped (FakeUnitOfWork)."""

    def __init__(self) -> None:
        super().__init__(source="/certifia/assessment")
        self.candidates = FakeCandidateRepository()
        self.decisions = FakeDecisionRepository()
        self.submissions = FakeSubmissionRepository()
        self.appeals = FakeAppealRepository()
        self.governance = FakeGovernanceRepository()
        self.proposals = FakeProposalRepository()
        self._race: Callable[[Any], None] | None = None

    def race_on_next_commit(self, winner: Callable[[Any], None]) -> None:
        """A concurrent transaction commits first: at the next commit, ``winner`` writes into what is
        committed (its argument has the same repositories as this unit of work) and this commit fails with
        :class:`Conflict`, as a unique key would refuse it."""
        self._race = winner

    def commit(self) -> None:
        if self._race is not None:
            winner, self._race = self._race, None
            winner(SimpleNamespace(**self._snapshot))
            raise Conflict("a concurrent transaction committed first")
        super().commit()


def enrol(uow: FakeAssessmentUnitOfWork, *candidate_ids: str, path: str = "formation", **data: Any) -> None:
    """Make the candidates known the way the consumer does (candidate.enrolled, one unit of work each)."""
    from certifia_assessment.service_layer.events import on_candidate_enrolled
    from certifia_shared.testing import enrolled_event

    for candidate_id in candidate_ids:
        with uow:
            on_candidate_enrolled(enrolled_event(candidate_id, path=path, **data), uow)
            uow.commit()


def event_data(uow: FakeAssessmentUnitOfWork, type: str) -> list[dict[str, Any]]:
    """The payloads of the committed events of one type, oldest first."""
    return [e.data for e in uow.events(type)]
