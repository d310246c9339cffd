"""Request and response bodies of the thesis API."""

from __future__ import annotations

from dataclasses import asdict
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
from certifia_thesis.domain.accommodation import Accommodation
from certifia_thesis.domain.appeals import TEXT_MAX_LENGTH, TEXT_MIN_LENGTH, Appeal
from certifia_thesis.domain.deposit import Deposit
from certifia_thesis.domain.model import MAX_GRADE, Defence, Mission, Status
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
Account = Annotated[str, CleanText("identifier", 1, 255)]
"""An account id (a token's subject), never a name or an email."""
AppealText = Annotated[str, free_text(TEXT_MAX_LENGTH, min_length=TEXT_MIN_LENGTH)]
"""The grounds of an appeal or the reasoning of its resolution: free text the candidate and officers see."""


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
    grade: float | None = Field(
        default=None,
        ge=0,
        le=MAX_GRADE,
        description="out of 20, at most 2 decimals; passed needs at least the pass mark (DEFENCE_PASS_MARK, "
        "10 by default), failed less",
    )
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
    account: Account | None = Field(
        default=None, description="the member's account (token subject): they may not judge an appeal"
    )


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
    account: str | None = None


class AccommodationOut(BaseModel):
    extra_time_factor: float
    adapted_defence: str | None
    applied_to: list[str] = Field(description="what the accommodation changes here: the defence's duration")

    @classmethod
    def of(cls, a: Accommodation) -> AccommodationOut:
        return cls(
            extra_time_factor=a.extra_time_factor,
            adapted_defence=a.adapted_defence,
            applied_to=list(a.applied_to),
        )


class ScheduleOut(BaseModel):
    defence_id: str
    candidate_id: str
    deposit_id: str
    status: Literal["scheduled", "held", "cancelled"]
    scheduled_at: datetime
    duration_minutes: int = Field(description="the standard duration times the candidate's extra-time factor")
    standard_duration_minutes: int
    accommodation: AccommodationOut | None
    location: str
    jury: list[JuryMemberOut]
    scheduled_by: str = Field(description="the account (token subject) that scheduled it")
    first_scheduled_at: datetime = Field(description="when the defence was first scheduled")
    updated_at: datetime
    cancelled_at: datetime | None
    cancelled_by: str | None = Field(description="the account that cancelled it ('enrolment' if unnamed)")
    cancel_reason: str | None

    @classmethod
    def of(cls, s: DefenceSchedule, *, held: bool = False) -> ScheduleOut:
        return cls(
            defence_id=s.id,
            candidate_id=s.candidate_id,
            deposit_id=s.deposit_id,
            status="cancelled" if s.cancelled_at else "held" if held else "scheduled",
            scheduled_at=s.scheduled_at,
            duration_minutes=s.duration_minutes,
            standard_duration_minutes=s.standard_minutes,
            accommodation=AccommodationOut.of(s.accommodation) if s.accommodation else None,
            location=s.location,
            jury=[JuryMemberOut(name=m.name, role=m.role, account=m.account) for m in s.jury],
            scheduled_by=s.scheduled_by,
            first_scheduled_at=s.created_at,
            updated_at=s.updated_at,
            cancelled_at=s.cancelled_at,
            cancelled_by=s.cancelled_by,
            cancel_reason=s.cancel_reason,
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
    recorded_by: str = Field(description="the account (token subject) that recorded the outcome")
    recorded_by_role: str | None
    annulled_at: datetime | None = Field(
        description="a failure annulled by an upheld appeal no longer counts"
    )
    annulled_by_appeal: str | None

    @classmethod
    def of(cls, d: Defence) -> DefenceOut:
        return cls(**{f: getattr(d, f) for f in cls.model_fields if f != "jury"}, jury=list(d.jury))


class AppealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grounds: AppealText = Field(
        description="why the failed outcome is contested; the candidate and officers see it"
    )


class ResolutionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["upheld", "dismissed"] = Field(
        description="upheld: the failure is annulled (a new defence may be scheduled); dismissed: it stands"
    )
    reasoning: AppealText = Field(description="why; the candidate sees it")


class ResolutionOut(BaseModel):
    outcome: str
    reasoning: str
    resolved_by: str = Field(description="the account (token subject) of the resolving officer")
    resolved_by_role: str
    resolved_at: datetime


class AppealOut(BaseModel):
    id: str
    candidate_id: str
    defence_id: str
    grounds: str
    opened_by: str = Field(description="the account (token subject) that opened it")
    opened_by_role: str
    opened_at: datetime
    resolve_by: datetime = Field(description="when an officer should have resolved it")
    status: Literal["open", "resolved"]
    resolution: ResolutionOut | None

    @classmethod
    def of(cls, a: Appeal) -> AppealOut:
        return cls(**asdict(a), status=a.status)


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
    appeals: list[AppealOut] = Field(description="appeals against failed defences, oldest first")

    @classmethod
    def of(cls, v: ThesisView) -> ThesisOut:
        deposits = [DepositOut.of(d) for d in v.deposits]
        decided = {d.id for d in v.defences}
        return cls(
            candidate_id=v.candidate.id,
            path=v.candidate.path,
            status=v.status,
            withdrawn_at=v.candidate.withdrawn_at,
            missions=[MissionOut.of(m) for m in v.missions],
            deposit=deposits[-1] if deposits else None,
            deposits=deposits,
            scheduled_defence=ScheduleOut.of(v.scheduled) if v.scheduled else None,
            scheduled_defences=[ScheduleOut.of(s, held=s.id in decided) for s in v.schedules],
            defences=[DefenceOut.of(d) for d in v.defences],
            appeals=[AppealOut.of(a) for a in v.appeals],
        )
