"""The thesis command handlers (mission, deposit, schedule, outcome) over the fake unit of work: what each
writes, what it emits (and with which payload), and what it refuses, writing nothing. No database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from certifia_shared import event_types as ev
from certifia_shared.db import Conflict
from certifia_thesis.domain.accommodation import Accommodation
from certifia_thesis.domain.deposit import DefenceAlreadyScheduled, DepositRefused
from certifia_thesis.domain.eligibility import MissionRefused
from certifia_thesis.domain.model import (
    CandidateWithdrawn,
    Defence,
    DefenceNotHeldYet,
    DefenceNotScheduled,
    DefenceRefused,
    Mission,
    MissionConflict,
    ResitLimitReached,
    ThesisAlreadyPassed,
    UnknownCandidate,
    UnknownMission,
)
from certifia_thesis.domain.schedule import JuryMember, NoDeposit, ScheduleRefused

from .fakes import Concurrently
from .scenario import JURY, SHA, T0, Story


@pytest.fixture
def story() -> Story:
    return Story()


# -- register_mission -----------------------------------------------------------------------------------
def test_an_eligible_mission_is_registered_with_mission_registered(story: Story) -> None:
    story.enrol()
    mission, created = story.mission(fte=0.8, end_date=date(2026, 6, 30))
    assert created and mission.months_fte == 4.8 and mission.candidate_id == "cand-1"
    assert story.uow.missions.get(mission.id) == mission
    [event] = story.uow.events(ev.MISSION_REGISTERED)
    assert event.subject == "cand-1"
    assert event.data == {
        "mission_id": mission.id,
        "candidate_id": "cand-1",
        "company": "Acme",
        "start_date": "2026-01-01",
        "end_date": "2026-06-30",
        "fte": 0.8,
        "months_fte": 4.8,
        "registered_at": mission.registered_at.isoformat(),
    }


def test_the_same_mission_again_is_the_one_registered_and_emits_nothing(story: Story) -> None:
    story.enrol()
    first, _ = story.mission()
    again, created = story.mission()
    assert again == first and not created
    assert len(story.uow.missions.rows) == 1 and len(story.uow.events(ev.MISSION_REGISTERED)) == 1


def test_the_same_mission_with_other_details_is_a_conflict_naming_them(story: Story) -> None:
    story.enrol()
    story.mission()
    with pytest.raises(MissionConflict) as conflict:
        story.mission(tutor="Someone else", fte=0.9)
    assert conflict.value.fields == ["tutor", "fte"]
    assert len(story.uow.missions.rows) == 1


def test_under_four_months_fte_is_refused_and_writes_nothing(story: Story) -> None:
    story.enrol()
    with pytest.raises(MissionRefused) as refused:
        story.mission(end_date=date(2026, 4, 29))
    assert refused.value.field == "end_date"
    assert story.uow.missions.rows == {} and story.uow.events(ev.MISSION_REGISTERED) == []


def test_a_mission_of_an_unknown_or_withdrawn_candidate_is_refused(story: Story) -> None:
    with pytest.raises(UnknownCandidate) as unknown:
        story.mission("cand-404")
    assert unknown.value.candidate_id == "cand-404"
    story.enrol()
    story.withdraw(at="2026-11-20T10:00:00+00:00")
    with pytest.raises(CandidateWithdrawn) as withdrawn:
        story.mission()
    assert withdrawn.value.withdrawn_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert story.uow.missions.rows == {}


def test_a_concurrent_twin_mission_wins_the_insert_and_the_retry_answers_with_it(story: Story) -> None:
    story.enrol()
    twin = Mission(
        id="m-twin",
        candidate_id="cand-1",
        company="Acme",
        title="ML engineer",
        tutor="Grace Hopper",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 6, 30),
        fte=1.0,
        months_fte=6.0,
        registered_at=T0,
    )
    story.uow.missions.before_add = Concurrently(
        story.uow, lambda uow: uow.missions.rows.update({twin.id: twin})
    )
    mission, created = story.mission()
    assert mission == twin and not created
    assert list(story.uow.missions.rows) == ["m-twin"] and story.uow.events(ev.MISSION_REGISTERED) == []


# -- deposit_thesis -------------------------------------------------------------------------------------
def test_a_deposit_is_version_1_with_thesis_submitted(story: Story) -> None:
    story.enrol()
    mission, _ = story.mission()
    deposit, created = story.deposit(mission.id)
    assert created and deposit.version == 1 and deposit.submitted_at == T0
    assert story.uow.deposits.of("cand-1") == [deposit]
    [event] = story.uow.events(ev.THESIS_SUBMITTED)
    assert event.subject == "cand-1"
    assert event.data == {
        "candidate_id": "cand-1",
        "deposit_id": deposit.id,
        "mission_id": mission.id,
        "version": 1,
        "title": "Détection d'anomalies",
        "sha256": SHA,
        "size_bytes": 1234,
        "submitted_at": T0.isoformat(),
    }


def test_the_same_deposit_again_is_the_latest_version_and_another_is_a_new_version(story: Story) -> None:
    story.enrol()
    mission, _ = story.mission()
    first, _ = story.deposit(mission.id)
    again, created = story.deposit(mission.id)
    assert again == first and not created
    second, created = story.deposit(mission.id, sha256="b" * 64)
    assert created and second.version == 2
    assert [e.data["version"] for e in story.uow.events(ev.THESIS_SUBMITTED)] == [1, 2]


def test_a_deposit_for_a_mission_not_the_candidates_is_unknown_mission(story: Story) -> None:
    story.enrol()
    story.enrol("cand-2")
    other, _ = story.mission("cand-2")
    for mission_id in ("m-404", other.id):
        with pytest.raises(UnknownMission) as unknown:
            story.deposit(mission_id)
        assert unknown.value.mission_id == mission_id
    assert story.uow.deposits.rows == {}


def test_a_deposit_on_a_mission_that_does_not_count_is_refused_naming_mission_id(story: Story) -> None:
    story.enrol()
    short = Mission("m-short", "cand-1", "Acme", None, None, date(2026, 1, 1), date(2026, 2, 1), 1.0, 1.0, T0)
    story.uow.missions.rows[short.id] = short  # registered under an older rule
    with pytest.raises(DepositRefused) as refused:
        story.deposit(short.id)
    assert refused.value.field == "mission_id"
    assert story.uow.deposits.rows == {}


def test_no_new_version_once_the_defence_is_scheduled_but_the_same_again_is_a_retry(story: Story) -> None:
    mission = story.deposited()
    scheduled, _ = story.schedule()
    with pytest.raises(DefenceAlreadyScheduled) as refused:
        story.deposit(mission.id, sha256="b" * 64)
    assert refused.value.scheduled_at == scheduled.scheduled_at
    _again, created = story.deposit(mission.id)
    assert not created and len(story.uow.deposits.rows) == 1


def test_after_a_failure_a_revised_thesis_may_be_deposited_after_a_pass_none(story: Story) -> None:
    story.failed()
    mission_id = story.uow.missions.of("cand-1")[0].id
    revised, created = story.deposit(mission_id, sha256="b" * 64)
    assert created and revised.version == 2
    story.schedule()
    story.later(days=9)
    story.defend()
    with pytest.raises(ThesisAlreadyPassed):
        story.deposit(mission_id, sha256="c" * 64)


def test_a_withdrawn_or_unknown_candidate_deposits_nothing(story: Story) -> None:
    mission = story.deposited()
    story.withdraw()
    with pytest.raises(CandidateWithdrawn):
        story.deposit(mission.id, sha256="b" * 64)
    with pytest.raises(UnknownCandidate):
        story.deposit(mission.id, "cand-404")
    assert len(story.uow.deposits.rows) == 1


def test_a_concurrent_deposit_takes_the_version_and_the_retry_counts_again(story: Story) -> None:
    story.enrol()
    mission, _ = story.mission()
    first, _ = story.deposit(mission.id)
    theirs = replace(first, id="dep-theirs", version=2, sha256="c" * 64)
    story.uow.deposits.before_add = Concurrently(
        story.uow, lambda uow: uow.deposits.rows.update({theirs.id: theirs})
    )
    mine, created = story.deposit(mission.id, sha256="b" * 64)
    assert created and mine.version == 3
    assert [d.version for d in story.uow.deposits.of("cand-1")] == [1, 2, 3]


# -- schedule_defence -----------------------------------------------------------------------------------
def test_the_defence_of_the_latest_deposit_is_scheduled_with_defence_scheduled(story: Story) -> None:
    story.deposited()
    at = datetime(2026, 12, 9, 15, 0, tzinfo=timezone(timedelta(hours=1)))
    scheduled, what = story.schedule(scheduled_at=at)
    assert what == "scheduled"
    assert scheduled.scheduled_at == at and scheduled.scheduled_at.tzinfo == UTC  # stored as UTC
    assert scheduled.created_at == scheduled.updated_at == T0 and scheduled.duration_minutes == 60
    assert story.uow.schedules.of("cand-1") == [scheduled]
    [event] = story.uow.events(ev.DEFENCE_SCHEDULED)
    deposit = story.uow.deposits.of("cand-1")[0]
    assert event.data == {
        "candidate_id": "cand-1",
        "defence_id": scheduled.id,
        "deposit_id": deposit.id,
        "scheduled_at": "2026-12-09T14:00:00+00:00",
        "location": "Salle B204",
        "jury": [{"name": m.name, "role": m.role} for m in JURY],
        "scheduled_by": "officer-1",
    }


def test_rescheduling_keeps_the_defence_id_and_emits_again_the_same_again_changes_nothing(
    story: Story,
) -> None:
    story.deposited()
    first, _ = story.schedule()
    same, what = story.schedule()
    assert (same, what) == (first, "unchanged")
    story.later(hours=1)
    moved, what = story.schedule(location="Salle C101")
    assert what == "rescheduled" and moved.id == first.id and moved.location == "Salle C101"
    assert moved.created_at == first.created_at and moved.updated_at == story.now
    assert story.uow.schedules.of("cand-1") == [moved]
    assert [e.data["location"] for e in story.uow.events(ev.DEFENCE_SCHEDULED)] == [
        "Salle B204",
        "Salle C101",
    ]


def test_scheduling_needs_a_deposit_a_valid_jury_and_time_to_read(story: Story) -> None:
    story.enrol()
    with pytest.raises(NoDeposit):
        story.schedule()
    story.deposited()
    with pytest.raises(ScheduleRefused) as bad_jury:
        story.schedule(jury=(JuryMember("Pr Durand", "president"),))
    assert bad_jury.value.field == "jury"
    with pytest.raises(ScheduleRefused) as too_soon:
        story.schedule(scheduled_at=T0 + timedelta(days=6))
    assert too_soon.value.field == "scheduled_at"
    with pytest.raises(ScheduleRefused):
        story.schedule(scheduled_at=T0 - timedelta(minutes=1))
    assert story.uow.schedules.rows == {} and story.uow.events(ev.DEFENCE_SCHEDULED) == []


def test_a_resit_is_a_new_defence_until_the_failures_reach_the_limit(story: Story) -> None:
    first = story.failed()
    resit, what = story.schedule()
    assert what == "scheduled" and resit.id != first.id
    story.later(days=9)
    story.defend(outcome="failed", grade=7.0)
    with pytest.raises(ResitLimitReached) as limit:
        story.schedule()
    assert (limit.value.limit, limit.value.failures) == (2, 2)
    third, _ = story.schedule(max_attempts=3)  # the limit is a setting
    assert len(story.uow.schedules.of("cand-1")) == 3 and third.id not in {first.id, resit.id}


def test_scheduling_after_a_pass_or_once_withdrawn_is_refused(story: Story) -> None:
    story.scheduled_and_held()
    story.defend()
    with pytest.raises(ThesisAlreadyPassed):
        story.schedule()
    other = Story()
    other.deposited()
    other.withdraw()
    with pytest.raises(CandidateWithdrawn):
        other.schedule()
    assert other.uow.schedules.rows == {}


def test_the_defence_lasts_the_standard_duration_times_the_extra_time_factor(story: Story) -> None:
    story.enrol()
    story.accommodate(1.5, "Salle au rez-de-chaussée")
    story.deposited()
    scheduled, _ = story.schedule(standard_minutes=40)
    assert scheduled.accommodation == Accommodation(1.5, "Salle au rez-de-chaussée")
    assert (scheduled.standard_minutes, scheduled.duration_minutes) == (40, 60)


# -- record_defence -------------------------------------------------------------------------------------
def test_the_outcome_of_the_held_defence_is_recorded_with_thesis_defended(story: Story) -> None:
    scheduled = story.scheduled_and_held()
    defence, created = story.defend()
    assert created and defence.id == scheduled.id and defence.outcome == "passed"
    assert defence.jury == scheduled.jury_names() and defence.defended_at == scheduled.scheduled_at
    assert defence.mission_id == story.uow.missions.of("cand-1")[0].id and defence.recorded_at == story.now
    assert story.uow.defences.of("cand-1") == [defence]
    [event] = story.uow.events(ev.THESIS_DEFENDED)
    assert event.data == {
        "defence_id": scheduled.id,
        "candidate_id": "cand-1",
        "mission_id": defence.mission_id,
        "outcome": "passed",
        "grade": 14.5,
        "jury": ["Pr Durand", "Dr Martin", "M. Petit"],
        "defended_at": scheduled.scheduled_at.isoformat(),
        "recorded_by": "jury-1",
    }


def test_the_jury_date_and_mission_named_are_kept(story: Story) -> None:
    scheduled = story.scheduled_and_held()
    mission_id = story.uow.missions.of("cand-1")[0].id
    at = scheduled.scheduled_at.astimezone(timezone(timedelta(hours=2)))
    defence, _ = story.defend(mission_id=mission_id, jury=("Dr A", "Dr B"), defended_at=at)
    assert defence.jury == ("Dr A", "Dr B") and defence.mission_id == mission_id
    assert defence.defended_at == scheduled.scheduled_at and defence.defended_at.tzinfo == UTC


def test_the_same_outcome_again_is_the_one_recorded_and_emits_nothing(story: Story) -> None:
    story.scheduled_and_held()
    first, _ = story.defend()
    story.later(minutes=5)
    again, created = story.defend()
    assert again == first and not created
    assert len(story.uow.events(ev.THESIS_DEFENDED)) == 1


def test_no_outcome_without_a_defence_waiting_for_it(story: Story) -> None:
    story.deposited()
    with pytest.raises(DefenceNotScheduled):
        story.defend()  # none scheduled
    story.schedule()
    story.later(days=9)
    story.defend(outcome="failed", grade=8.0)
    with pytest.raises(DefenceNotScheduled):
        story.defend(outcome="failed", grade=9.0)  # its outcome is recorded: a resit is scheduled first
    assert len(story.uow.defences.rows) == 1


def test_no_outcome_after_a_pass_even_unscheduled(story: Story) -> None:
    story.scheduled_and_held()
    story.defend()
    story.uow.schedules.rows.clear()  # what a pass leaves: nothing to schedule, still final
    with pytest.raises(ThesisAlreadyPassed):
        story.defend(grade=16.0)


def test_a_cancelled_defence_waits_for_no_outcome(story: Story) -> None:
    scheduled = story.scheduled_and_held()
    story.uow.schedules.rows[scheduled.id] = replace(scheduled, cancelled_at=T0, cancelled_by="enrolment")
    with pytest.raises(DefenceNotScheduled):
        story.defend()


def test_no_outcome_before_the_scheduled_time(story: Story) -> None:
    story.deposited()
    scheduled, _ = story.schedule()
    with pytest.raises(DefenceNotHeldYet) as early:
        story.defend()
    assert early.value.scheduled_at == scheduled.scheduled_at
    assert story.uow.defences.rows == {}


def test_the_outcome_agrees_with_the_grade_and_the_pass_mark_is_a_setting(story: Story) -> None:
    story.scheduled_and_held()
    with pytest.raises(DefenceRefused) as refused:
        story.defend(outcome="passed", grade=9.5)
    assert refused.value.field == "grade"
    defence, _ = story.defend(outcome="passed", grade=9.5, pass_mark=9.5)
    assert defence.outcome == "passed"


def test_the_mission_named_must_be_the_deposited_ones(story: Story) -> None:
    story.scheduled_and_held()
    other, _ = story.mission(company="Globex")
    story.enrol("cand-2")
    theirs, _ = story.mission("cand-2")
    with pytest.raises(DefenceRefused) as refused:
        story.defend(mission_id=other.id)
    assert refused.value.field == "mission_id"
    with pytest.raises(UnknownMission):
        story.defend(mission_id=theirs.id)
    assert story.uow.defences.rows == {}


def test_an_outcome_in_the_future_is_refused(story: Story) -> None:
    story.scheduled_and_held()
    with pytest.raises(DefenceRefused) as refused:
        story.defend(defended_at=story.now + timedelta(hours=1))
    assert refused.value.field == "defended_at"


def test_a_withdrawn_or_unknown_candidate_gets_no_outcome(story: Story) -> None:
    story.scheduled_and_held()
    with pytest.raises(UnknownCandidate):
        story.defend("cand-404")
    story.withdraw(at=story.now.isoformat())  # after the defence was held: not cancelled
    with pytest.raises(CandidateWithdrawn):
        story.defend()


def test_a_concurrent_pass_recorded_first_stands(story: Story) -> None:
    scheduled = story.scheduled_and_held()
    mission_id = story.uow.missions.of("cand-1")[0].id

    def theirs(uow: Any) -> None:
        uow.defences.rows[scheduled.id] = Defence(
            scheduled.id, "cand-1", mission_id, "passed", 17.0, ("Dr X",), story.now, story.now, "jury-2"
        )

    story.uow.defences.before_add = Concurrently(story.uow, theirs)
    with pytest.raises(ThesisAlreadyPassed):
        story.defend()  # the retry sees the other outcome: final
    assert story.uow.defences.get(scheduled.id).grade == 17.0  # type: ignore[union-attr]


def test_a_conflict_on_every_attempt_is_answered_as_already_passed(story: Story) -> None:
    story.scheduled_and_held()

    def always(_row: object) -> None:
        raise Conflict("uq_defences_one_pass")

    story.uow.defences.before_add = always
    with pytest.raises(ThesisAlreadyPassed):
        story.defend()
    assert story.uow.defences.rows == {} and story.uow.events(ev.THESIS_DEFENDED) == []
