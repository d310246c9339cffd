"""Enrolment's use cases over the fake unit of work (no database): enrolment, option, withdrawal,
accommodations, the diploma events, and the read models."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from certifia_enrolment.domain.model import (
    Candidate,
    CandidateCertified,
    CandidateWithdrawn,
    EnrolmentConflict,
    HeldDiploma,
    UnknownCandidate,
)
from certifia_enrolment.service_layer import accommodations as grants
from certifia_enrolment.service_layer import handlers, views
from certifia_enrolment.service_layer.diplomas import record_diploma_issued, record_diploma_revoked
from certifia_shared import event_types as ev
from certifia_shared.db import Conflict
from certifia_shared.envelope import CloudEvent

from .fakes import FakeAccommodationRepository, FakeCandidateRepository, FakeEnrolmentUnitOfWork

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _candidate(cid: str = "c-1", **changes: Any) -> Candidate:
    fields: dict[str, Any] = {
        "id": cid,
        "lms_client": "moodle",
        "external_id": f"ext-{cid}",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.org",
        "path": "formation",
        "cohort": "2025-A",
        "enrolled_at": T0,
    }
    return Candidate(**{**fields, **changes})


def _enrol(**changes: Any) -> handlers.EnrolCandidate:
    data: dict[str, Any] = {
        "lms_client": "moodle",
        "external_id": "42",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.org",
        "path": "formation",
        "cohort": None,
    }
    return handlers.EnrolCandidate(**{**data, **changes})


# -- enrol_candidate --------------------------------------------------------------------------------
def test_enrolling_stores_the_candidate_and_emits_candidate_enrolled() -> None:
    uow = FakeEnrolmentUnitOfWork()
    candidate, created = handlers.enrol_candidate(_enrol(cohort="2025-A"), uow=uow)
    assert created and uow.committed == 1
    assert uow.candidates.get(candidate.id) == candidate
    assert (candidate.lms_client, candidate.external_id, candidate.option) == ("moodle", "42", None)
    [event] = uow.events()
    assert event.type == ev.CANDIDATE_ENROLLED and event.subject == candidate.id
    assert event.data == {
        "candidate_id": candidate.id,
        "external_id": "42",
        "lms_client": "moodle",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.org",
        "path": "formation",
        "cohort": "2025-A",
        "enrolled_at": candidate.enrolled_at.isoformat(),
    }


def test_a_repeated_enrolment_returns_the_existing_candidate_and_emits_nothing() -> None:
    uow = FakeEnrolmentUnitOfWork()
    first, _ = handlers.enrol_candidate(_enrol(), uow=uow)
    again, created = handlers.enrol_candidate(_enrol(), uow=uow)
    assert (again, created) == (first, False)
    assert len(uow.events()) == 1 and len(uow.candidates.rows) == 1


def test_a_repeated_enrolment_with_other_data_is_refused_naming_the_fields() -> None:
    uow = FakeEnrolmentUnitOfWork()
    handlers.enrol_candidate(_enrol(), uow=uow)
    with pytest.raises(EnrolmentConflict) as refused:
        handlers.enrol_candidate(_enrol(email="ada@other.org", cohort="2026"), uow=uow)
    assert refused.value.fields == ["email", "cohort"] and refused.value.external_id == "42"
    assert len(uow.events()) == 1 and len(uow.candidates.rows) == 1


def test_the_same_external_id_from_two_lms_is_two_candidates() -> None:
    uow = FakeEnrolmentUnitOfWork()
    a, _ = handlers.enrol_candidate(_enrol(), uow=uow)
    b, created = handlers.enrol_candidate(_enrol(lms_client="canvas"), uow=uow)
    assert created and a.id != b.id
    assert [e.data["lms_client"] for e in uow.events(ev.CANDIDATE_ENROLLED)] == ["moodle", "canvas"]


class _TwinNotSeenAtFirst(FakeCandidateRepository):
    """A concurrent twin won the key, but the first read after the insert gave way does not see it yet (the
    counter lives on the class, so the unit of work's snapshot and restore leave it alone)."""

    reads: ClassVar[list[int]] = [0]

    def by_external_id(self, lms_client: str, external_id: str) -> Candidate | None:
        type(self).reads[0] += 1
        return None if type(self).reads[0] == 1 else super().by_external_id(lms_client, external_id)


def test_an_insert_that_gives_way_to_a_twin_reads_theirs() -> None:
    twin = _candidate("twin", external_id="42", cohort=None)
    uow = FakeEnrolmentUnitOfWork()
    uow.candidates = FakeCandidateRepository([twin])
    candidate, created = handlers.enrol_candidate(_enrol(), uow=uow)
    assert (candidate, created) == (twin, False)
    assert uow.events() == [] and list(uow.candidates.rows) == ["twin"] and uow.committed == 0


def test_a_twin_not_seen_yet_is_read_back_on_the_retry() -> None:
    twin = _candidate("twin", external_id="42", cohort=None)
    uow = FakeEnrolmentUnitOfWork()
    _TwinNotSeenAtFirst.reads[0] = 0
    uow.candidates = _TwinNotSeenAtFirst([twin])
    candidate, created = handlers.enrol_candidate(_enrol(), uow=uow)
    assert (candidate, created) == (twin, False)
    assert _TwinNotSeenAtFirst.reads[0] == 2  # the first attempt raised Conflict, the retry read theirs
    assert uow.events() == [] and list(uow.candidates.rows) == ["twin"]


def test_a_conflict_that_persists_leaves_after_the_last_retry() -> None:
    class AlwaysRacing(FakeCandidateRepository):
        def add_new(self, candidate: Candidate) -> bool:
            raise Conflict("uq_candidates_lms_external")

    uow = FakeEnrolmentUnitOfWork()
    uow.candidates = AlwaysRacing()
    with pytest.raises(Conflict):
        handlers.enrol_candidate(_enrol(), uow=uow)
    assert uow.events() == [] and uow.committed == 0


# -- choose_option ----------------------------------------------------------------------------------
def test_choosing_an_option_stores_it_and_emits_option_chosen() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    chosen, changed = handlers.choose_option(handlers.ChooseOption("c-1", "5A"), uow=uow)
    assert changed and chosen.option == "5A"
    assert uow.candidates.get("c-1").option == "5A"  # type: ignore[union-attr]
    [event] = uow.events()
    assert event.type == ev.OPTION_CHOSEN and event.subject == "c-1"
    assert (event.data["candidate_id"], event.data["option"]) == ("c-1", "5A")
    assert datetime.fromisoformat(event.data["chosen_at"]).tzinfo is not None


def test_choosing_the_same_option_again_changes_nothing_and_emits_nothing() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate(option="5B")])
    candidate, changed = handlers.choose_option(handlers.ChooseOption("c-1", "5B"), uow=uow)
    assert not changed and candidate.option == "5B"
    assert uow.events() == [] and uow.committed == 0


def test_another_option_replaces_the_first() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate(option="5A")])
    chosen, changed = handlers.choose_option(handlers.ChooseOption("c-1", "5B"), uow=uow)
    assert changed and chosen.option == "5B" == uow.candidates.get("c-1").option  # type: ignore[union-attr]
    assert [e.data["option"] for e in uow.events(ev.OPTION_CHOSEN)] == ["5B"]


def test_choosing_an_option_for_an_unknown_candidate_is_refused() -> None:
    uow = FakeEnrolmentUnitOfWork()
    with pytest.raises(UnknownCandidate) as refused:
        handlers.choose_option(handlers.ChooseOption("nobody", "5A"), uow=uow)
    assert refused.value.candidate_id == "nobody" and uow.events() == []


def test_a_withdrawn_candidate_can_no_longer_choose_an_option() -> None:
    left = T0 + timedelta(days=3)
    uow = FakeEnrolmentUnitOfWork([_candidate(withdrawn_at=left, withdrawal_reason="départ")])
    with pytest.raises(CandidateWithdrawn) as refused:
        handlers.choose_option(handlers.ChooseOption("c-1", "5A"), uow=uow)
    assert (refused.value.candidate_id, refused.value.withdrawn_at) == ("c-1", left)
    assert uow.candidates.get("c-1").option is None and uow.events() == []  # type: ignore[union-attr]


def _issued(
    cid: str = "c-1", diploma_id: str = "dip-1", option: str = "5A", at: str = "2026-12-01T10:00:00+00:00"
) -> CloudEvent:
    return CloudEvent(
        type=ev.DIPLOMA_ISSUED,
        source="/certifia/certification",
        subject=cid,
        data={"diploma_id": diploma_id, "candidate_id": cid, "option": option, "issued_at": at},
    )


def _revoked(
    cid: str = "c-1", diploma_id: str = "dip-1", at: str = "2026-12-02T09:00:00+00:00"
) -> CloudEvent:
    return CloudEvent(
        type=ev.DIPLOMA_REVOKED,
        source="/certifia/certification",
        subject=cid,
        data={"diploma_id": diploma_id, "candidate_id": cid, "revoked_at": at},
    )


def _consume(uow: FakeEnrolmentUnitOfWork, handler: Any, event: CloudEvent) -> None:
    """As the consumer runs a handler: inside its unit of work, then commit."""
    with uow:
        handler(event, uow)
        uow.commit()


def test_a_held_diploma_freezes_every_other_option_until_it_is_revoked() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate(option="5A")])
    _consume(uow, record_diploma_issued, _issued())
    with pytest.raises(CandidateCertified) as refused:
        handlers.choose_option(handlers.ChooseOption("c-1", "5B"), uow=uow)
    assert (refused.value.candidate_id, refused.value.diploma) == ("c-1", HeldDiploma("dip-1", "5A"))
    assert uow.candidates.get("c-1").option == "5A" and uow.events() == []  # type: ignore[union-attr]
    _consume(uow, record_diploma_revoked, _revoked())
    chosen, changed = handlers.choose_option(handlers.ChooseOption("c-1", "5B"), uow=uow)
    assert changed and chosen.option == "5B"


def test_the_diplomas_own_option_can_still_be_chosen() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate(option="5B")])  # changed after the diploma was issued for 5A
    _consume(uow, record_diploma_issued, _issued(option="5A"))
    chosen, changed = handlers.choose_option(handlers.ChooseOption("c-1", "5A"), uow=uow)
    assert changed and chosen.option == "5A"


# -- the diploma events -----------------------------------------------------------------------------
def test_an_issued_diploma_is_recorded_once_with_its_time_in_utc() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    _consume(uow, record_diploma_issued, _issued(at="2026-12-01T12:00:00+02:00"))
    assert uow.diplomas.in_force("c-1") == HeldDiploma("dip-1", "5A")
    issued_at = uow.diplomas.rows["dip-1"]["issued_at"]
    assert issued_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC) and issued_at.utcoffset() == timedelta(0)
    _consume(uow, record_diploma_issued, _issued(option="5B", at="2026-12-03T10:00:00Z"))  # a replay
    assert uow.diplomas.in_force("c-1") == HeldDiploma("dip-1", "5A")
    assert len(uow.diplomas.rows) == 1 and uow.events() == []


def test_a_naive_event_time_is_read_as_utc() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    _consume(uow, record_diploma_revoked, _revoked(at="2026-12-02T09:00:00"))
    assert uow.diplomas.rows["dip-1"]["revoked_at"] == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_a_revocation_voids_the_diploma_and_one_seen_before_its_issue_keeps_it_void() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate("c-1"), _candidate("c-2")])
    _consume(uow, record_diploma_issued, _issued("c-1", "dip-1"))
    _consume(uow, record_diploma_revoked, _revoked("c-1", "dip-1"))
    assert uow.diplomas.in_force("c-1") is None
    _consume(uow, record_diploma_revoked, _revoked("c-2", "dip-2"))  # out of order: revoked, then issued
    _consume(uow, record_diploma_issued, _issued("c-2", "dip-2"))
    assert uow.diplomas.in_force("c-2") is None
    first_revocation = uow.diplomas.rows["dip-1"]["revoked_at"]
    _consume(uow, record_diploma_revoked, _revoked("c-1", "dip-1", at="2026-12-09T09:00:00+00:00"))
    assert uow.diplomas.rows["dip-1"]["revoked_at"] == first_revocation  # a replay changes nothing


# -- withdraw_candidate -----------------------------------------------------------------------------
def test_a_withdrawal_is_recorded_and_emitted_once_saying_who_and_why() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    cmd = handlers.WithdrawCandidate("c-1", reason="Réorientation", role="lms", by="moodle")
    left, changed = handlers.withdraw_candidate(cmd, uow=uow)
    assert changed and left.withdrawn and (left.withdrawn_by_role, left.withdrawn_by) == ("lms", "moodle")
    assert uow.candidates.get("c-1") == left
    [event] = uow.events()
    assert event.type == ev.CANDIDATE_WITHDRAWN and event.subject == "c-1"
    assert left.withdrawn_at is not None
    assert event.data == {
        "candidate_id": "c-1",
        "withdrawn_at": left.withdrawn_at.isoformat(),
        "reason": "Réorientation",
        "withdrawn_by_role": "lms",
        "withdrawn_by": "moodle",
    }
    again, changed = handlers.withdraw_candidate(
        handlers.WithdrawCandidate("c-1", reason="autre", role="officer", by="officer-1"), uow=uow
    )
    assert not changed and again == left  # the first withdrawal stands
    assert len(uow.events()) == 1


def test_withdrawing_an_unknown_candidate_is_refused() -> None:
    uow = FakeEnrolmentUnitOfWork()
    with pytest.raises(UnknownCandidate):
        handlers.withdraw_candidate(
            handlers.WithdrawCandidate("nobody", reason="x", role="officer", by="o-1"), uow=uow
        )
    assert uow.events() == []


class _WithdrawnMeanwhile(FakeCandidateRepository):
    """A concurrent request withdrew the candidate after our read (first read only; class-level counter)."""

    reads: ClassVar[list[int]] = [0]

    def get(self, candidate_id: str) -> Candidate | None:
        type(self).reads[0] += 1
        found = super().get(candidate_id)
        if type(self).reads[0] == 1 and found is not None:
            return replace(
                found, withdrawn_at=None, withdrawal_reason=None, withdrawn_by_role=None, withdrawn_by=None
            )
        return found


def test_a_concurrent_withdrawal_that_got_there_first_stands() -> None:
    theirs = _candidate(
        withdrawn_at=T0 + timedelta(days=1),
        withdrawal_reason="theirs",
        withdrawn_by_role="officer",
        withdrawn_by="o-1",
    )
    uow = FakeEnrolmentUnitOfWork()
    _WithdrawnMeanwhile.reads[0] = 0
    uow.candidates = _WithdrawnMeanwhile([theirs])
    cmd = handlers.WithdrawCandidate("c-1", reason="ours", role="lms", by="moodle")
    current, changed = handlers.withdraw_candidate(cmd, uow=uow)
    assert (current, changed) == (theirs, False)
    assert uow.events() == [] and uow.committed == 0


# -- accommodations ---------------------------------------------------------------------------------
def _grant(candidate_id: str = "c-1", factor: float = 1.5, **changes: Any) -> grants.GrantAccommodation:
    fields: dict[str, Any] = {
        "candidate_id": candidate_id,
        "extra_time_factor": factor,
        "adapted_formats": ["rest_breaks", "large_print", "rest_breaks"],
        "adapted_defence": None,
        "evidence_reference": "MDPH-1",
        "reason": "avis médical",
        "granted_by": "officer-1",
        "granted_by_role": "officer",
    }
    return grants.GrantAccommodation(**{**fields, **changes})


def test_a_grant_is_stored_in_force_and_emitted_with_each_format_once() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    granted = grants.grant_accommodation(_grant(), uow=uow)
    assert granted.in_force and granted.adapted_formats == ("rest_breaks", "large_print")
    assert views.accommodation_history("c-1", uow=uow) == [granted]
    [event] = uow.events()
    assert event.type == ev.ACCOMMODATION_GRANTED and event.subject == "c-1"
    assert event.data == {
        "accommodation_id": granted.id,
        "candidate_id": "c-1",
        "extra_time_factor": 1.5,
        "adapted_formats": ["rest_breaks", "large_print"],
        "adapted_defence": None,
        "evidence_reference": "MDPH-1",
        "granted_by": "officer-1",
        "granted_by_role": "officer",
        "granted_at": granted.granted_at.isoformat(),
        "reason": "avis médical",
    }


def test_a_new_grant_replaces_the_one_in_force_and_the_history_keeps_it() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    first = grants.grant_accommodation(_grant(factor=1.5), uow=uow)
    second = grants.grant_accommodation(_grant(factor=2.0, granted_by_role="admin"), uow=uow)
    history = views.accommodation_history("c-1", uow=uow)
    assert [(a.id, a.in_force) for a in history] == [(second.id, True), (first.id, False)]
    assert history[1].superseded_at == second.granted_at
    assert [e.data["extra_time_factor"] for e in uow.events(ev.ACCOMMODATION_GRANTED)] == [1.5, 2.0]


def test_no_grant_for_an_unknown_or_withdrawn_candidate() -> None:
    left = T0 + timedelta(days=2)
    uow = FakeEnrolmentUnitOfWork([_candidate("gone", withdrawn_at=left)])
    with pytest.raises(UnknownCandidate):
        grants.grant_accommodation(_grant("nobody"), uow=uow)
    with pytest.raises(CandidateWithdrawn) as refused:
        grants.grant_accommodation(_grant("gone"), uow=uow)
    assert refused.value.withdrawn_at == left
    assert uow.events() == [] and uow.accommodations.rows == []


def test_a_concurrent_grant_that_wins_the_in_force_index_is_replaced_on_the_retry() -> None:
    class RacedOnce(FakeAccommodationRepository):
        raced: ClassVar[list[bool]] = [False]

        def grant(self, accommodation: Any) -> None:
            if not type(self).raced[0]:
                type(self).raced[0] = True
                raise Conflict("ix_accommodations_in_force")
            super().grant(accommodation)

    uow = FakeEnrolmentUnitOfWork([_candidate()])
    RacedOnce.raced[0] = False
    uow.accommodations = RacedOnce()
    granted = grants.grant_accommodation(_grant(), uow=uow)
    assert RacedOnce.raced[0] and views.accommodation_history("c-1", uow=uow) == [granted]
    assert [e.data["accommodation_id"] for e in uow.events()] == [granted.id]  # one event, the retry's


def test_the_history_of_an_unknown_candidate_is_refused_and_an_empty_one_is_empty() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    with pytest.raises(UnknownCandidate):
        views.accommodation_history("nobody", uow=uow)
    assert views.accommodation_history("c-1", uow=uow) == []


# -- read models ------------------------------------------------------------------------------------
def test_a_candidate_is_read_back_and_an_unknown_one_is_refused() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    assert views.candidate("c-1", uow=uow) == _candidate()
    with pytest.raises(UnknownCandidate) as refused:
        views.candidate("nobody", uow=uow)
    assert refused.value.candidate_id == "nobody"


def test_the_candidate_list_is_one_lms_or_all_in_enrolment_order_and_paginated() -> None:
    rows = [
        _candidate("c-3", enrolled_at=T0 + timedelta(hours=1)),
        _candidate("c-1", lms_client="canvas"),
        _candidate("c-2", enrolled_at=T0 + timedelta(hours=2)),
    ]
    uow = FakeEnrolmentUnitOfWork(rows)
    listed = views.candidates(uow=uow, lms_client=None, limit=10, offset=0)
    assert [c.id for c in listed] == ["c-1", "c-3", "c-2"]
    assert [c.id for c in views.candidates(uow=uow, lms_client="moodle", limit=10, offset=0)] == [
        "c-3",
        "c-2",
    ]
    assert [c.id for c in views.candidates(uow=uow, lms_client=None, limit=1, offset=1)] == ["c-3"]
    assert views.candidates(uow=uow, lms_client="moodle", limit=5, offset=5) == []
