"""The read side (service_layer/views.py) over the fake unit of work: what GET answers are built from."""

from __future__ import annotations

import pytest

from certifia_thesis.domain.appeals import NoAppeal
from certifia_thesis.service_layer import views

from .scenario import Story


@pytest.fixture
def story() -> Story:
    return Story()


def test_an_unknown_candidate_has_no_thesis(story: Story) -> None:
    assert views.thesis_of("cand-404", uow=story.uow) is None


def test_the_thesis_follows_the_lifecycle(story: Story) -> None:
    story.enrol()
    view = views.thesis_of("cand-1", uow=story.uow)
    assert view is not None and view.status == "no_mission" and view.missions == []
    mission, _ = story.mission()
    assert views.thesis_of("cand-1", uow=story.uow).status == "mission_registered"  # type: ignore[union-attr]
    story.deposit(mission.id)
    assert views.thesis_of("cand-1", uow=story.uow).status == "thesis_deposited"  # type: ignore[union-attr]
    scheduled, _ = story.schedule()
    view = views.thesis_of("cand-1", uow=story.uow)
    assert view is not None and view.status == "defence_scheduled" and view.scheduled == scheduled
    story.later(days=9)
    failed, _ = story.defend(outcome="failed", grade=8.0)
    appeal = story.appeal(failed.id)
    view = views.thesis_of("cand-1", uow=story.uow)
    assert view is not None
    assert view.status == "defended_failed" and view.scheduled is None
    assert view.candidate.id == "cand-1" and view.missions == [mission]
    assert view.defences == [failed] and view.schedules == [scheduled] and view.appeals == [appeal]
    assert [d.version for d in view.deposits] == [1]


def test_a_deposit_by_version_or_the_latest(story: Story) -> None:
    story.enrol()
    mission, _ = story.mission()
    first, _ = story.deposit(mission.id)
    second, _ = story.deposit(mission.id, sha256="b" * 64)
    assert views.deposit_of("cand-1", None, uow=story.uow) == second
    assert views.deposit_of("cand-1", 1, uow=story.uow) == first
    assert views.deposit_of("cand-1", 3, uow=story.uow) is None
    assert views.deposit_of("cand-2", None, uow=story.uow) is None


def test_a_defence_and_its_appeal(story: Story) -> None:
    assert views.defence_of("d-404", uow=story.uow) is None
    defence = story.failed()
    assert views.defence_of(defence.id, uow=story.uow) == defence
    with pytest.raises(NoAppeal):
        views.appeal_of(defence.id, uow=story.uow)
    appeal = story.appeal(defence.id)
    assert views.appeal_of(defence.id, uow=story.uow) == appeal


def test_reading_writes_and_emits_nothing(story: Story) -> None:
    story.failed()
    committed, events = story.uow.committed, list(story.uow.events())
    views.thesis_of("cand-1", uow=story.uow)
    views.deposit_of("cand-1", None, uow=story.uow)
    assert (story.uow.committed, story.uow.events()) == (committed, events)
