"""A candidate's thesis driven through the real use cases over :class:`FakeThesisUnitOfWork`: no database.

``Story`` keeps the clock (``story.now``; ``later()`` moves it) and builds the usual path: enrolled, a
mission registered, a thesis deposited, a defence scheduled, held, its outcome recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent
from certifia_shared.testing import enrolled_event
from certifia_thesis.domain.appeals import Appeal
from certifia_thesis.domain.deposit import Deposit
from certifia_thesis.domain.model import Defence, Mission
from certifia_thesis.domain.schedule import DefenceSchedule, JuryMember
from certifia_thesis.service_layer import appeals, deposit, handlers, outcome, schedule
from certifia_thesis.service_layer.events import (
    accommodation_granted,
    candidate_enrolled,
    candidate_withdrawn,
)

from .fakes import FakeThesisUnitOfWork

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
READING_DAYS = 7
WINDOW = timedelta(days=30)
RESOLUTION_TIME = timedelta(days=60)
JURY = (
    JuryMember("Pr Durand", "president", "jury-president"),
    JuryMember("Dr Martin", "member"),
    JuryMember("M. Petit", "company_tutor"),
)
ABSTRACT = "Une thèse professionnelle sur la détection d'anomalies dans des séries temporelles industrielles."
GROUNDS = "Le jury a évalué une version de la thèse antérieure au dépôt final."
REASONING = "La version évaluée n'était pas celle déposée : l'échec est annulé."
SHA = "a" * 64


def enrolment_event(type: str, subject: str, **data: Any) -> CloudEvent:
    return CloudEvent(type=type, source="/certifia/enrolment", subject=subject, data=data)


def withdrawn_event(candidate_id: str, at: str, **extra: Any) -> CloudEvent:
    return enrolment_event(
        ev.CANDIDATE_WITHDRAWN,
        candidate_id,
        candidate_id=candidate_id,
        withdrawn_at=at,
        reason="Raisons personnelles.",
        withdrawn_by_role="officer",
        **extra,
    )


def accommodation_event(candidate_id: str, factor: float, adapted: str | None, at: str) -> CloudEvent:
    return enrolment_event(
        ev.ACCOMMODATION_GRANTED,
        candidate_id,
        accommodation_id="acc-1",
        candidate_id=candidate_id,
        extra_time_factor=factor,
        adapted_formats=["rest_breaks"],
        adapted_defence=adapted,
        evidence_reference="MDPH 2026-123",
        granted_by="officer-3",
        granted_by_role="officer",
        granted_at=at,
    )


@dataclass
class Story:
    uow: FakeThesisUnitOfWork = field(default_factory=FakeThesisUnitOfWork)
    now: datetime = T0

    def clock(self) -> datetime:
        return self.now

    def later(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    # -- events from enrolment (the consumer opens the unit of work and commits) ------------------------
    def consume(self, handler: Any, event: CloudEvent) -> None:
        with self.uow:
            handler(event, self.uow)
            self.uow.commit()

    def enrol(self, candidate_id: str = "cand-1", **data: Any) -> str:
        self.consume(candidate_enrolled, enrolled_event(candidate_id, **data))
        return candidate_id

    def withdraw(self, candidate_id: str = "cand-1", at: str | None = None, **extra: Any) -> None:
        self.consume(candidate_withdrawn, withdrawn_event(candidate_id, at or self.now.isoformat(), **extra))

    def accommodate(
        self, factor: float, adapted: str | None = None, at: str | None = None, candidate_id: str = "cand-1"
    ) -> None:
        event = accommodation_event(candidate_id, factor, adapted, at or self.now.isoformat())
        self.consume(accommodation_granted, event)

    # -- the use cases ---------------------------------------------------------------------------------
    def mission(self, candidate_id: str = "cand-1", **fields: Any) -> tuple[Mission, bool]:
        cmd = handlers.RegisterMission(
            **{
                "candidate_id": candidate_id,
                "company": "Acme",
                "title": "ML engineer",
                "tutor": "Grace Hopper",
                "start_date": date(2026, 1, 1),
                "end_date": date(2026, 6, 30),
                "fte": 1.0,
                **fields,
            }
        )
        return handlers.register_mission(cmd, uow=self.uow)

    def deposit(self, mission_id: str, candidate_id: str = "cand-1", **fields: Any) -> tuple[Deposit, bool]:
        cmd = deposit.DepositThesis(
            **{
                "candidate_id": candidate_id,
                "mission_id": mission_id,
                "title": "Détection d'anomalies",
                "abstract": ABSTRACT,
                "sha256": SHA,
                "size_bytes": 1234,
                "filename": "these.pdf",
                "submitted_by": "ext-cand-1",
                **fields,
            }
        )
        return deposit.deposit_thesis(cmd, uow=self.uow, now=self.clock)

    def schedule(
        self,
        candidate_id: str = "cand-1",
        *,
        max_attempts: int = 2,
        standard_minutes: int = 60,
        **fields: Any,
    ) -> tuple[DefenceSchedule, schedule.Scheduling]:
        cmd = schedule.ScheduleDefence(
            **{
                "candidate_id": candidate_id,
                "scheduled_at": self.now + timedelta(days=8),
                "location": "Salle B204",
                "jury": JURY,
                "scheduled_by": "officer-1",
                **fields,
            }
        )
        return schedule.schedule_defence(
            cmd,
            uow=self.uow,
            reading_days=READING_DAYS,
            now=self.clock,
            max_attempts=max_attempts,
            standard_minutes=standard_minutes,
        )

    def defend(
        self, candidate_id: str = "cand-1", *, pass_mark: float = 10.0, **fields: Any
    ) -> tuple[Defence, bool]:
        cmd = outcome.RecordDefence(
            **{
                "candidate_id": candidate_id,
                "mission_id": None,
                "outcome": "passed",
                "grade": 14.5,
                "jury": (),
                "defended_at": None,
                "recorded_by": "jury-1",
                "recorded_by_role": "jury",
                **fields,
            }
        )
        return outcome.record_defence(cmd, uow=self.uow, now=self.clock, pass_mark=pass_mark)

    def appeal(
        self, defence_id: str, *, by: str = "account-cand-1", role: appeals.OpenerRole = "candidate"
    ) -> Appeal:
        cmd = appeals.OpenDefenceAppeal(defence_id, GROUNDS, by, role)
        return appeals.open_appeal(
            cmd, uow=self.uow, window=WINDOW, resolution_time=RESOLUTION_TIME, now=self.clock
        )

    def resolve(
        self, defence_id: str, result: appeals.AppealOutcome = "upheld", *, by: str = "officer-2"
    ) -> tuple[Appeal, bool]:
        cmd = appeals.ResolveDefenceAppeal(defence_id, result, REASONING, by, "officer")
        return appeals.resolve_appeal(cmd, uow=self.uow, now=self.clock)

    # -- whole paths -----------------------------------------------------------------------------------
    def deposited(self, candidate_id: str = "cand-1") -> Mission:
        """Enrolled, a mission registered and a thesis deposited: the mission."""
        if self.uow.candidates.get(candidate_id) is None:
            self.enrol(candidate_id)
        mission, _ = self.mission(candidate_id)
        self.deposit(mission.id, candidate_id)
        return mission

    def scheduled_and_held(self, candidate_id: str = "cand-1") -> DefenceSchedule:
        """... and a defence scheduled, its time come: the schedule."""
        self.deposited(candidate_id)
        scheduled, _ = self.schedule(candidate_id)
        self.later(days=8, hours=2)
        return scheduled

    def failed(self, candidate_id: str = "cand-1") -> Defence:
        """... and failed: the defence."""
        self.scheduled_and_held(candidate_id)
        defence, _ = self.defend(candidate_id, outcome="failed", grade=8.0)
        return defence
