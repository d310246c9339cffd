"""Appeals against a failed defence over the fake unit of work: opening (appeal.opened), resolving
(appeal.resolved; an upheld appeal annuls the failure), and every refusal, writing nothing. No database."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from certifia_shared import event_types as ev
from certifia_thesis.domain.appeals import (
    AlreadyAppealed,
    AlreadyResolved,
    AppealRefused,
    AppealWindowClosed,
    NoAppeal,
    NotAFailure,
    NotImpartial,
    UnknownDefence,
)
from certifia_thesis.domain.model import CandidateWithdrawn, ResitLimitReached, ThesisAlreadyPassed
from certifia_thesis.service_layer import appeals

from .fakes import Concurrently
from .scenario import GROUNDS, REASONING, RESOLUTION_TIME, WINDOW, Story


@pytest.fixture
def story() -> Story:
    return Story()


# -- open_appeal ----------------------------------------------------------------------------------------
def test_the_candidate_contests_a_failed_defence_with_appeal_opened(story: Story) -> None:
    defence = story.failed()
    story.later(days=3)
    appeal = story.appeal(defence.id)
    assert (appeal.defence_id, appeal.candidate_id, appeal.status) == (defence.id, "cand-1", "open")
    assert appeal.opened_at == story.now and appeal.resolve_by == story.now + RESOLUTION_TIME
    assert story.uow.appeals.of_defence(defence.id) == appeal
    [event] = story.uow.events(ev.DEFENCE_APPEAL_OPENED)
    assert event.subject == "cand-1"
    assert event.data == {
        "appeal_id": appeal.id,
        "candidate_id": "cand-1",
        "defence_id": defence.id,
        "grounds": GROUNDS,
        "opened_by": "account-cand-1",
        "opened_by_role": "candidate",
        "opened_at": story.now.isoformat(),
        "resolve_by": (story.now + RESOLUTION_TIME).isoformat(),
    }


def test_the_window_is_inclusive_then_closes(story: Story) -> None:
    defence = story.failed()
    story.now = defence.recorded_at + WINDOW + timedelta(seconds=1)
    with pytest.raises(AppealWindowClosed) as closed:
        story.appeal(defence.id)
    assert closed.value.deadline == defence.recorded_at + WINDOW
    story.now = defence.recorded_at + WINDOW
    assert story.appeal(defence.id).opened_at == defence.recorded_at + WINDOW


def test_extra_time_widens_the_window(story: Story) -> None:
    story.enrol()
    story.accommodate(1.5)
    defence = story.failed()
    story.now = defence.recorded_at + WINDOW * 1.5
    assert story.appeal(defence.id).status == "open"


def test_only_a_standing_failure_is_contested_once(story: Story) -> None:
    defence = story.failed()
    first = story.appeal(defence.id)
    with pytest.raises(AlreadyAppealed) as again:
        story.appeal(defence.id, by="officer-1", role="officer")
    assert again.value.appeal == first
    other = Story()
    other.scheduled_and_held()
    passed, _ = other.defend()
    with pytest.raises(NotAFailure):
        other.appeal(passed.id)
    assert other.uow.appeals.rows == {} and len(story.uow.events(ev.DEFENCE_APPEAL_OPENED)) == 1


def test_grounds_too_short_are_refused_naming_grounds(story: Story) -> None:
    defence = story.failed()
    cmd = appeals.OpenDefenceAppeal(defence.id, "  trop court  ", "account-cand-1", "candidate")
    with pytest.raises(AppealRefused) as refused:
        appeals.open_appeal(
            cmd, uow=story.uow, window=WINDOW, resolution_time=RESOLUTION_TIME, now=story.clock
        )
    assert refused.value.field == "grounds"
    assert story.uow.appeals.rows == {}


def test_an_unknown_defence_or_a_withdrawn_candidate_opens_nothing(story: Story) -> None:
    with pytest.raises(UnknownDefence) as unknown:
        story.appeal("d-404")
    assert unknown.value.defence_id == "d-404"
    defence = story.failed()
    story.withdraw()
    with pytest.raises(CandidateWithdrawn):
        story.appeal(defence.id)
    assert story.uow.appeals.rows == {}


def test_a_failure_followed_by_a_pass_is_no_longer_contested(story: Story) -> None:
    defence = story.failed()
    story.schedule()
    story.later(days=9)
    story.defend()
    with pytest.raises(ThesisAlreadyPassed):
        story.appeal(defence.id)


def test_a_concurrent_opening_wins_and_the_retry_names_it(story: Story) -> None:
    defence = story.failed()
    theirs = replace(
        story.appeal(defence.id), id="ap-theirs", opened_by="officer-1", opened_by_role="officer"
    )
    story.uow.appeals.rows.clear()  # as if not yet committed: theirs commits first, below

    def commit_theirs(uow: Any) -> None:
        uow.appeals.rows[theirs.id] = theirs

    story.uow.appeals.before_add = Concurrently(story.uow, commit_theirs)
    with pytest.raises(AlreadyAppealed) as again:
        story.appeal(defence.id)
    assert again.value.appeal.id == "ap-theirs"
    assert list(story.uow.appeals.rows) == ["ap-theirs"]


# -- resolve_appeal -------------------------------------------------------------------------------------
def test_an_upheld_appeal_annuls_the_failure_with_appeal_resolved(story: Story) -> None:
    defence = story.failed()
    appeal = story.appeal(defence.id)
    story.later(days=2)
    resolved, new = story.resolve(defence.id, "upheld")
    assert new and resolved.id == appeal.id and resolved.status == "resolved"
    assert resolved.resolution is not None and resolved.resolution.resolved_at == story.now
    assert story.uow.appeals.of_defence(defence.id) == resolved
    annulled = story.uow.defences.get(defence.id)
    assert (
        annulled is not None
        and annulled.annulled_at == story.now
        and annulled.annulled_by_appeal == appeal.id
    )
    [event] = story.uow.events(ev.DEFENCE_APPEAL_RESOLVED)
    assert event.data == {
        "appeal_id": appeal.id,
        "candidate_id": "cand-1",
        "defence_id": defence.id,
        "outcome": "upheld",
        "reasoning": REASONING,
        "resolved_by": "officer-2",
        "resolved_by_role": "officer",
        "resolved_at": story.now.isoformat(),
        "defence_annulled": True,
    }


def test_an_annulled_failure_does_not_count_against_the_resit_limit(story: Story) -> None:
    first = story.failed()
    story.schedule()
    story.later(days=9)
    second, _ = story.defend(outcome="failed", grade=7.0)
    with pytest.raises(ResitLimitReached):
        story.schedule()
    story.appeal(second.id)
    story.resolve(second.id, "upheld")
    resit, what = story.schedule()
    assert what == "scheduled" and resit.id not in {first.id, second.id}


def test_a_dismissed_appeal_leaves_the_failure_standing(story: Story) -> None:
    defence = story.failed()
    story.appeal(defence.id)
    resolved, new = story.resolve(defence.id, "dismissed")
    assert new and resolved.resolution is not None and resolved.resolution.outcome == "dismissed"
    standing = story.uow.defences.get(defence.id)
    assert standing is not None and standing.annulled_at is None
    [event] = story.uow.events(ev.DEFENCE_APPEAL_RESOLVED)
    assert event.data["defence_annulled"] is False


def test_a_resolution_is_final_the_same_again_is_a_retry(story: Story) -> None:
    defence = story.failed()
    story.appeal(defence.id)
    first, _ = story.resolve(defence.id, "upheld")
    story.later(hours=1)
    again, new = story.resolve(defence.id, "upheld")
    assert again == first and not new
    with pytest.raises(AlreadyResolved):
        story.resolve(defence.id, "dismissed")
    with pytest.raises(AlreadyResolved):
        story.resolve(defence.id, "upheld", by="officer-3")
    assert len(story.uow.events(ev.DEFENCE_APPEAL_RESOLVED)) == 1


@pytest.mark.parametrize("by", ["jury-president", "jury-1", "officer-1"])
def test_the_jury_the_recorder_and_the_opener_may_not_resolve(story: Story, by: str) -> None:
    defence = story.failed()  # jury-president sat on the jury, jury-1 recorded the outcome
    story.appeal(defence.id, by="officer-1", role="officer")
    with pytest.raises(NotImpartial):
        story.resolve(defence.id, by=by)
    appeal = story.uow.appeals.of_defence(defence.id)
    assert appeal is not None and appeal.resolution is None
    assert story.uow.events(ev.DEFENCE_APPEAL_RESOLVED) == []


def test_resolving_needs_a_defence_and_its_appeal(story: Story) -> None:
    with pytest.raises(UnknownDefence):
        story.resolve("d-404")
    defence = story.failed()
    with pytest.raises(NoAppeal) as none:
        story.resolve(defence.id)
    assert none.value.defence_id == defence.id
