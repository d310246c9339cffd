"""Enrolment's use cases over the real unit of work on SQLite (no HTTP): what the fakes stand in for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from certifia_enrolment.adapters.orm import accommodations, messaging, metadata
from certifia_enrolment.domain.model import EnrolmentConflict, UnknownCandidate
from certifia_enrolment.service_layer import accommodations as grants
from certifia_enrolment.service_layer import handlers, views
from certifia_enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.db import Conflict, make_engine, session_factory


@pytest.fixture
def uow_factory(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'enrolment.db'}")
    metadata.create_all(engine)
    sessions = session_factory(engine)
    yield lambda: EnrolmentUnitOfWork(sessions, tables=messaging, source="/certifia/enrolment")
    engine.dispose()


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


def test_enrol_emits_a_valid_candidate_enrolled_once(uow_factory: Any) -> None:
    uow = uow_factory()
    candidate, created = handlers.enrol_candidate(_enrol(), uow=uow)
    assert created
    [event] = uow.emitted
    assert event.type == ev.CANDIDATE_ENROLLED and event.subject == candidate.id
    contract(ev.CANDIDATE_ENROLLED).validate(event.data)
    again, created_again = handlers.enrol_candidate(_enrol(), uow=uow_factory())
    assert (again.id, created_again) == (candidate.id, False)


def test_enrol_with_other_data_is_a_conflict(uow_factory: Any) -> None:
    handlers.enrol_candidate(_enrol(), uow=uow_factory())
    with pytest.raises(EnrolmentConflict) as err:
        handlers.enrol_candidate(_enrol(cohort="2026"), uow=uow_factory())
    assert err.value.fields == ["cohort"]


def test_the_same_external_id_from_two_lms_is_two_candidates(uow_factory: Any) -> None:
    a, _ = handlers.enrol_candidate(_enrol(), uow=uow_factory())
    b, created = handlers.enrol_candidate(_enrol(lms_client="canvas"), uow=uow_factory())
    assert created and a.id != b.id


def test_choose_option_once_per_change(uow_factory: Any) -> None:
    candidate, _ = handlers.enrol_candidate(_enrol(), uow=uow_factory())
    uow = uow_factory()
    chosen, changed = handlers.choose_option(handlers.ChooseOption(candidate.id, "5A"), uow=uow)
    assert changed and chosen.option == "5A"
    contract(ev.OPTION_CHOSEN).validate(uow.emitted[0].data)
    uow = uow_factory()
    assert handlers.choose_option(handlers.ChooseOption(candidate.id, "5A"), uow=uow)[1] is False
    assert uow.emitted == []


def test_choose_option_of_an_unknown_candidate(uow_factory: Any) -> None:
    with pytest.raises(UnknownCandidate):
        handlers.choose_option(handlers.ChooseOption("nobody", "5A"), uow=uow_factory())


def _grant(candidate_id: str, factor: float) -> grants.GrantAccommodation:
    return grants.GrantAccommodation(
        candidate_id=candidate_id,
        extra_time_factor=factor,
        adapted_formats=["rest_breaks"],
        adapted_defence=None,
        evidence_reference="MDPH-1",
        reason="avis médical",
        granted_by="officer-1",
        granted_by_role="officer",
    )


def test_at_most_one_grant_is_in_force_per_candidate(uow_factory: Any) -> None:
    candidate, _ = handlers.enrol_candidate(_enrol(), uow=uow_factory())
    first = grants.grant_accommodation(_grant(candidate.id, 1.5), uow=uow_factory())
    second = grants.grant_accommodation(_grant(candidate.id, 2.0), uow=uow_factory())
    history = views.accommodation_history(candidate.id, uow=uow_factory())
    assert [(a.id, a.in_force) for a in history] == [(second.id, True), (first.id, False)]
    # a second row in force (what two racing grants would write without the update) is refused
    uow = uow_factory()
    with pytest.raises(Conflict), uow:
        row = {c.name: getattr(second, c.name) for c in accommodations.c if c.name != "adapted_formats"}
        uow.session.execute(insert(accommodations).values(**{**row, "id": "other"}, adapted_formats="[]"))
        uow.commit()
