"""The handlers of enrolment's events (candidate.enrolled, .withdrawn, .accommodation_granted) over the
fake unit of work, and the UTC reading of their timestamps. No database, no consumer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from certifia_shared import event_types as ev
from certifia_shared.envelope import event_time as utc
from certifia_thesis.domain.accommodation import Accommodation
from certifia_thesis.domain.model import AccommodationOfUnknownCandidate, WithdrawalOfUnknownCandidate
from certifia_thesis.service_layer.events import (
    HANDLERS,
    accommodation_granted,
    candidate_enrolled,
    candidate_withdrawn,
)

from .scenario import T0, Story, accommodation_event, withdrawn_event


@pytest.fixture
def story() -> Story:
    return Story()


def test_the_service_consumes_enrolment_s_three_events() -> None:
    assert {
        ev.CANDIDATE_ENROLLED: candidate_enrolled,
        ev.CANDIDATE_WITHDRAWN: candidate_withdrawn,
        ev.ACCOMMODATION_GRANTED: accommodation_granted,
    } == HANDLERS


# -- utc ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "2026-11-20T11:30:00+01:00",  # an offset is converted
        "2026-11-20T10:30:00Z",
        "2026-11-20t10:30:00z",
        "2026-11-20T10:30:00",  # naive: UTC (never the machine's local time)
        "2026-11-20T05:30:00-05:00",
    ],
)
def test_event_timestamps_are_read_in_utc(value: str) -> None:
    parsed = utc(value)
    assert parsed == datetime(2026, 11, 20, 10, 30, tzinfo=UTC) and parsed.tzinfo == UTC


@pytest.fixture
def paris_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time zone is not UTC (a naive timestamp must not be read in it)."""
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_naive_timestamp_is_utc_whatever_the_machine_s_time_zone(paris_local_time: None) -> None:
    assert utc("2026-11-20T10:30:00") == datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    assert utc("2026-11-20T11:30:00+01:00") == datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


# -- candidate.enrolled ---------------------------------------------------------------------------------
def test_an_enrolled_candidate_becomes_known(story: Story) -> None:
    story.enrol("cand-9", lms_client="moodle", path="vae", enrolled_at="2026-09-01T10:00:00+02:00")
    candidate = story.uow.candidates.get("cand-9")
    assert candidate is not None
    assert (candidate.lms_client, candidate.path, candidate.given_name, candidate.family_name) == (
        "moodle",
        "vae",
        "Ada",
        "Lovelace",
    )
    assert candidate.withdrawn_at is None and candidate.extra_time_factor == 1.0
    assert story.uow.candidates.enrolled_at["cand-9"] == datetime(2026, 9, 1, 8, tzinfo=UTC)
    assert story.uow.events() == []  # nothing emitted


def test_a_later_enrolment_updates_the_copy_and_keeps_withdrawal_and_accommodation(story: Story) -> None:
    story.enrol()
    story.accommodate(1.25, "Rez-de-chaussée")
    story.withdraw(at="2026-11-20T10:00:00+00:00")
    story.enrol(family_name="Byron", lms_client="canvas")
    candidate = story.uow.candidates.get("cand-1")
    assert candidate is not None and (candidate.family_name, candidate.lms_client) == ("Byron", "canvas")
    assert candidate.withdrawn_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert (candidate.extra_time_factor, candidate.adapted_defence) == (1.25, "Rez-de-chaussée")
    assert len(story.uow.candidates.rows) == 1


# -- candidate.withdrawn --------------------------------------------------------------------------------
def test_a_withdrawal_is_recorded_once_the_first_counts(story: Story) -> None:
    story.enrol()
    story.withdraw(at="2026-11-20T11:00:00+01:00")
    story.withdraw(at="2026-11-25T10:00:00+00:00")
    candidate = story.uow.candidates.get("cand-1")
    assert candidate is not None and candidate.withdrawn_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert story.uow.events() == []  # no defence to cancel


def test_a_withdrawal_cancels_the_defence_to_come_once_with_defence_cancelled(story: Story) -> None:
    story.deposited()
    scheduled, _ = story.schedule()
    story.later(hours=1)
    story.withdraw(withdrawn_by="officer-7")
    story.withdraw()  # a repeat cancels nothing more
    cancelled = story.uow.schedules.get(scheduled.id)
    assert cancelled is not None
    assert (cancelled.cancelled_by, cancelled.cancel_reason) == ("officer-7", "candidate_withdrawn")
    assert cancelled.cancelled_at is not None and cancelled.cancelled_at.tzinfo == UTC  # when it was applied
    assert story.uow.candidates.get("cand-1").withdrawn_at == story.now  # type: ignore[union-attr]
    [event] = story.uow.events(ev.DEFENCE_CANCELLED)
    assert event.subject == "cand-1"
    assert event.data == {
        "defence_id": scheduled.id,
        "candidate_id": "cand-1",
        "scheduled_at": scheduled.scheduled_at.isoformat(),
        "reason": "candidate_withdrawn",
        "cancelled_at": cancelled.cancelled_at.isoformat(),
        "cancelled_by": "officer-7",
    }


def test_a_withdrawal_naming_no_account_is_cancelled_by_enrolment(story: Story) -> None:
    story.deposited()
    scheduled, _ = story.schedule()
    story.withdraw()
    cancelled = story.uow.schedules.get(scheduled.id)
    assert cancelled is not None and cancelled.cancelled_by == "enrolment"


def test_a_defence_already_held_when_the_candidate_withdrew_is_not_cancelled(story: Story) -> None:
    scheduled = story.scheduled_and_held()
    story.withdraw()
    assert story.uow.schedules.get(scheduled.id) == scheduled
    assert story.uow.events(ev.DEFENCE_CANCELLED) == []


def test_a_withdrawal_of_an_unknown_candidate_fails_loudly_and_writes_nothing(story: Story) -> None:
    with story.uow, pytest.raises(WithdrawalOfUnknownCandidate, match="cand-404"):
        candidate_withdrawn(withdrawn_event("cand-404", T0.isoformat()), story.uow)
    assert story.uow.candidates.rows == {}


# -- candidate.accommodation_granted --------------------------------------------------------------------
def test_the_latest_grant_counts_an_older_one_changes_nothing(story: Story) -> None:
    story.enrol()
    story.accommodate(1.5, "Pauses", at="2026-11-10T10:00:00+00:00")
    story.accommodate(1.25, None, at="2026-11-01T10:00:00+00:00")  # older: ignored
    candidate = story.uow.candidates.get("cand-1")
    assert candidate is not None and (candidate.extra_time_factor, candidate.adapted_defence) == (
        1.5,
        "Pauses",
    )
    story.accommodate(1.0, None, at="2026-11-12T10:00:00+01:00")  # newer: in force
    candidate = story.uow.candidates.get("cand-1")
    assert candidate is not None and candidate.extra_time_factor == 1.0
    assert story.uow.candidates.accommodation_granted_at["cand-1"] == datetime(2026, 11, 12, 9, tzinfo=UTC)


def test_a_grant_applies_to_the_defence_waiting_for_its_outcome_only(story: Story) -> None:
    story.deposited()
    scheduled, _ = story.schedule()
    story.accommodate(2.0, "Interprète LSF")
    waiting = story.uow.schedules.get(scheduled.id)
    assert waiting is not None and waiting.accommodation == Accommodation(2.0, "Interprète LSF")
    assert waiting.duration_minutes == 120
    story.later(days=9)
    story.defend()
    story.accommodate(1.5, None, at=(story.now + timedelta(minutes=1)).isoformat())
    held = story.uow.schedules.get(scheduled.id)
    assert held is not None and held.accommodation == Accommodation(2.0, "Interprète LSF")  # decided: kept
    assert story.uow.events(ev.DEFENCE_SCHEDULED)[-1].data["defence_id"] == scheduled.id  # nothing re-emitted
    assert len(story.uow.events(ev.DEFENCE_SCHEDULED)) == 1


def test_an_accommodation_for_an_unknown_candidate_fails_loudly(story: Story) -> None:
    with story.uow, pytest.raises(AccommodationOfUnknownCandidate, match="cand-404"):
        accommodation_granted(accommodation_event("cand-404", 1.5, None, T0.isoformat()), story.uow)
