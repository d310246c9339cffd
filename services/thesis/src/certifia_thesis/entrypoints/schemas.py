"""Request and response bodies of the thesis API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from certifia_shared.hygiene import (
    CleanText,
    PlausibleDate,
    PlausibleDateTime,
    ShortText,
    free_text,
    one_line,
)
from certifia_thesis.domain.deposit import Deposit
from certifia_thesis.domain.model import Defence, Mission, Status
from certifia_thesis.domain.schedule import MAX_JURY, MIN_JURY, DefenceSchedule, JuryRole
from certifia_thesis.service_layer.views import ThesisView

Name = Annotated[str, CleanText("name", 1, 200)]
"""A jury member's or a tutor's name: one line, NFC, no control, bidi or invisible characters."""
MissionId = Annotated[str, CleanText("identifier", 1, 64)]
"""A mission id as this service gave it."""
Title = Annotated[str, one_line(300, min_length=5)]
"""The thesis title (a form field of the deposit)."""
Abstract = Annotated[str, free_text(5000, min_length=50)]
"""The thesis abstract: free text, line feeds kept (a form field of the deposit)."""


class MissionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company: Annotated[str, one_line(200)]
    title: Annotated[str, one_line(200, min_length=0)] | None = Field(
        default=None,
        validation_alias=AliasChoices("title", "role"),
        description="the candidate's role in the company ('role' is accepted too)",
    )
    tutor: Annotated[str, CleanText("name", 0, 200)] | None = Field(
        default=None, description="the company tutor"
    )
    start_date: PlausibleDate
    end_date: PlausibleDate = Field(description="last day of the mission (inclusive)")
    fte: float = Field(default=1.0, gt=0, le=1, description="share of full time, 0 < fte <= 1")


class DefenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mission_id: MissionId | None = Field(default=None, description="default: the deposited thesis's mission")
    outcome: Literal["passed", "failed"]
    grade: float | None = Field(default=None, ge=0, le=20)
    jury: list[Name] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="the names of the jury that sat (default: the scheduled jury)",
    )
    defended_at: PlausibleDateTime | None = Field(
        default=None, description="when it was held, with its offset (default: the scheduled time)"
    )


class JuryMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    role: JuryRole


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scheduled_at: PlausibleDateTime = Field(
        description="date and time with its offset, e.g. 2027-01-15T14:00:00+01:00"
    )
    location: ShortText = Field(description="a room, or a video-conference link")
    jury: list[JuryMemberIn] = Field(
        min_length=MIN_JURY, max_length=MAX_JURY, description="exactly one president; no one twice"
    )


class DepositOut(BaseModel):
    id: str
    candidate_id: str
    mission_id: str
    version: int
    title: str
    abstract: str
    sha256: str
    size_bytes: int
    filename: str | None
    submitted_at: datetime
    file_url: str

    @classmethod
    def of(cls, d: Deposit) -> DepositOut:
        url = f"/candidates/{d.candidate_id}/thesis/deposit/file?version={d.version}"
        return cls(**{f: getattr(d, f) for f in cls.model_fields if f != "file_url"}, file_url=url)


class JuryMemberOut(BaseModel):
    name: str
    role: str


class ScheduleOut(BaseModel):
    defence_id: str
    candidate_id: str
    deposit_id: str
    scheduled_at: datetime
    location: str
    jury: list[JuryMemberOut]
    first_scheduled_at: datetime = Field(description="when the defence was first scheduled")
    updated_at: datetime

    @classmethod
    def of(cls, s: DefenceSchedule) -> ScheduleOut:
        return cls(
            defence_id=s.id,
            candidate_id=s.candidate_id,
            deposit_id=s.deposit_id,
            scheduled_at=s.scheduled_at,
            location=s.location,
            jury=[JuryMemberOut(name=m.name, role=m.role) for m in s.jury],
            first_scheduled_at=s.created_at,
            updated_at=s.updated_at,
        )


class MissionOut(BaseModel):
    id: str
    candidate_id: str
    company: str
    title: str | None
    tutor: str | None
    start_date: date
    end_date: date
    fte: float
    months_fte: float
    registered_at: datetime

    @classmethod
    def of(cls, m: Mission) -> MissionOut:
        return cls(**{f: getattr(m, f) for f in cls.model_fields})


class DefenceOut(BaseModel):
    id: str
    candidate_id: str
    mission_id: str
    outcome: str
    grade: float | None
    jury: list[str]
    defended_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, d: Defence) -> DefenceOut:
        return cls(**{f: getattr(d, f) for f in cls.model_fields if f != "jury"}, jury=list(d.jury))


class ThesisOut(BaseModel):
    candidate_id: str
    path: str
    status: Status
    withdrawn_at: datetime | None
    missions: list[MissionOut]
    deposit: DepositOut | None = Field(description="the latest deposit: the thesis that counts")
    deposits: list[DepositOut] = Field(description="every version deposited, oldest first")
    scheduled_defence: ScheduleOut | None = Field(description="the defence waiting for its outcome")
    scheduled_defences: list[ScheduleOut] = Field(description="every defence scheduled (a resit adds one)")
    defences: list[DefenceOut] = Field(description="the outcomes recorded")

    @classmethod
    def of(cls, v: ThesisView) -> ThesisOut:
        deposits = [DepositOut.of(d) for d in v.deposits]
        return cls(
            candidate_id=v.candidate.id,
            path=v.candidate.path,
            status=v.status,
            withdrawn_at=v.candidate.withdrawn_at,
            missions=[MissionOut.of(m) for m in v.missions],
            deposit=deposits[-1] if deposits else None,
            deposits=deposits,
            scheduled_defence=ScheduleOut.of(v.scheduled) if v.scheduled else None,
            scheduled_defences=[ScheduleOut.of(s) for s in v.schedules],
            defences=[DefenceOut.of(d) for d in v.defences],
        )
