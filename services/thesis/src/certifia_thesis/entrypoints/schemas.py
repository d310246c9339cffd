"""Request and response bodies of the thesis API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from certifia_thesis.domain.model import Defence, Mission
from certifia_thesis.service_layer.views import ThesisView

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class MissionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    company: str = Field(min_length=1, max_length=200)
    title: str | None = Field(
        default=None,
        max_length=200,
        validation_alias=AliasChoices("title", "role"),
        description="the candidate's role in the company ('role' is accepted too)",
    )
    tutor: str | None = Field(default=None, max_length=200, description="the company tutor")
    start_date: date
    end_date: date = Field(description="last day of the mission (inclusive)")
    fte: float = Field(default=1.0, gt=0, le=1, description="share of full time, 0 < fte <= 1")


class DefenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    mission_id: str = Field(min_length=1, max_length=64)
    outcome: Literal["passed", "failed"]
    grade: float | None = Field(default=None, ge=0, le=20)
    jury: list[Name] = Field(min_length=1, max_length=20, description="the jury members' names")
    defended_at: AwareDatetime | None = Field(default=None, description="when it was held (default: now)")


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
    status: Literal["no_mission", "mission_registered", "defended_passed", "defended_failed"]
    missions: list[MissionOut]
    defences: list[DefenceOut]

    @classmethod
    def of(cls, v: ThesisView) -> ThesisOut:
        return cls(
            candidate_id=v.candidate.id,
            path=v.candidate.path,
            status=v.status,
            missions=[MissionOut.of(m) for m in v.missions],
            defences=[DefenceOut.of(d) for d in v.defences],
        )
