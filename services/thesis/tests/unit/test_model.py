"""Defence rules and the thesis status: plain domain functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from certifia_thesis.domain.model import (
    Defence,
    DefenceRefused,
    Mission,
    MissionConflict,
    ThesisAlreadyPassed,
    check_defence_allowed,
    check_same_mission,
    same_defence,
    thesis_status,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
MISSION = Mission(
    id="m1",
    candidate_id="c1",
    company="Acme",
    title="ML engineer",
    tutor="Grace",
    start_date=date(2026, 1, 1),
    end_date=date(2026, 6, 30),
    fte=1.0,
    months_fte=6.0,
    registered_at=NOW,
)


def defence(outcome: str, *, days_ago: int = 1, jury: tuple[str, ...] = ("Dr A",)) -> Defence:
    return Defence(
        id=f"d-{outcome}-{days_ago}",
        candidate_id="c1",
        mission_id="m1",
        outcome=outcome,  # type: ignore[arg-type]
        grade=12.0,
        jury=jury,
        defended_at=NOW - timedelta(days=days_ago),
        recorded_at=NOW,
        recorded_by="jury-1",
    )


def test_status_follows_the_lifecycle() -> None:
    assert thesis_status([], []) == "no_mission"
    assert thesis_status([MISSION], []) == "mission_registered"
    assert thesis_status([MISSION], [defence("failed")]) == "defended_failed"
    assert thesis_status([MISSION], [defence("failed", days_ago=9), defence("passed")]) == "defended_passed"


def test_a_failed_defence_allows_a_resit_a_passed_one_is_final() -> None:
    check_defence_allowed([defence("failed")], NOW, NOW)
    with pytest.raises(ThesisAlreadyPassed):
        check_defence_allowed([defence("failed", days_ago=9), defence("passed")], NOW, NOW)


def test_a_defence_cannot_be_recorded_in_the_future() -> None:
    check_defence_allowed([], NOW + timedelta(minutes=4), NOW)  # clock skew tolerated
    with pytest.raises(DefenceRefused) as refused:
        check_defence_allowed([], NOW + timedelta(days=1), NOW)
    assert refused.value.field == "defended_at"


def test_the_same_defence_sent_again_is_recognised() -> None:
    held = defence("passed")
    assert same_defence([held], defence("passed")) == held
    assert same_defence([held], defence("passed", jury=("Dr B",))) is None
    assert same_defence([held], defence("passed", days_ago=2)) is None


def test_the_same_mission_with_other_details_is_a_conflict_naming_them() -> None:
    same = {"title": "ML engineer", "tutor": "Grace", "fte": 1.0}
    check_same_mission(MISSION, same)
    with pytest.raises(MissionConflict) as conflict:
        check_same_mission(MISSION, {**same, "fte": 0.8, "tutor": None})
    assert conflict.value.fields == ["tutor", "fte"]
