"""Defence governance rules (issue 17): grade and outcome, resit limit, appeals, cancellation, extra time.
Plain domain functions, no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from certifia_thesis.domain import accommodation, appeals
from certifia_thesis.domain.model import (
    Defence,
    DefenceRefused,
    ResitLimitReached,
    check_grade,
    check_resit_allowed,
    thesis_status,
)
from certifia_thesis.domain.schedule import DefenceSchedule, JuryMember, cancelled_on_withdrawal, pending

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=30)
GROUNDS = "Le jury a évalué une version antérieure de la thèse."


def defence(did: str = "d1", result: str = "failed", *, annulled: bool = False) -> Defence:
    return Defence(
        did,
        "c1",
        "m1",
        result,  # type: ignore[arg-type]
        8.0,
        ("Pr Durand",),
        NOW,
        NOW,
        "jury-1",
        annulled_at=NOW if annulled else None,
    )


def schedule(sid: str = "d1", *, in_days: int = 8, account: str | None = None) -> DefenceSchedule:
    jury = (JuryMember("Pr Durand", "president", account), JuryMember("Dr Martin", "member"))
    return DefenceSchedule(sid, "c1", "dep-1", NOW + timedelta(days=in_days), "B204", jury, "o", NOW, NOW)


def open_(d: Defence, *, now: datetime = NOW, window: timedelta = WINDOW) -> appeals.Appeal:
    return appeals.open_appeal(
        d,
        existing=None,
        appeal_id="a1",
        grounds=GROUNDS,
        opened_by="cand-account",
        opened_by_role="candidate",
        now=now,
        window=window,
        resolution_time=timedelta(days=60),
    )


def resolve(
    a: appeals.Appeal, by: str, outcome: appeals.AppealOutcome = "upheld"
) -> tuple[appeals.Appeal, bool]:
    return appeals.resolve_appeal(
        a,
        contested=defence(),
        jury_accounts=schedule(account="officer-7").jury_accounts(),
        outcome=outcome,
        reasoning="La version évaluée n'était pas la bonne.",
        resolved_by=by,
        resolved_by_role="officer",
        now=NOW,
    )


@pytest.mark.parametrize(
    ("outcome", "grade"),
    [("passed", 10.0), ("passed", 20), ("failed", 9.99), ("failed", 0), ("passed", None)],
)
def test_an_outcome_that_agrees_with_the_grade(outcome: str, grade: float | None) -> None:
    check_grade(outcome, grade, 10.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcome", "grade"),
    [("passed", 3.0), ("passed", 9.99), ("failed", 10.0), ("passed", 12.345), ("passed", 21)],
)
def test_an_outcome_against_the_grade_or_an_odd_grade_is_refused_naming_grade(
    outcome: str, grade: float
) -> None:
    with pytest.raises(DefenceRefused) as refused:
        check_grade(outcome, grade, 10.0)  # type: ignore[arg-type]
    assert refused.value.field == "grade"


def test_failures_count_against_the_limit_unless_annulled() -> None:
    check_resit_allowed("c1", [defence("d1")], 2)
    with pytest.raises(ResitLimitReached) as reached:
        check_resit_allowed("c1", [defence("d1"), defence("d2")], 2)
    assert (reached.value.limit, reached.value.failures) == (2, 2)
    check_resit_allowed("c1", [defence("d1"), defence("d2", annulled=True)], 2)


def test_an_annulled_failure_is_as_if_it_had_not_happened() -> None:
    assert thesis_status([], [defence(annulled=True)], deposited=True) == "thesis_deposited"


def test_a_failed_defence_is_contested_within_the_window_inclusive() -> None:
    appeal = open_(defence(), now=NOW + WINDOW)
    assert appeal.resolve_by == NOW + WINDOW + timedelta(days=60) and appeal.status == "open"
    with pytest.raises(appeals.AppealWindowClosed):
        open_(defence(), now=NOW + WINDOW + timedelta(seconds=1))
    open_(defence(), now=NOW + timedelta(days=44), window=accommodation.extended(WINDOW, 1.5))


def test_only_a_standing_failure_is_contested_once() -> None:
    with pytest.raises(appeals.NotAFailure):
        open_(defence(result="passed"))
    with pytest.raises(appeals.NotAFailure):
        open_(defence(annulled=True))
    first = open_(defence())
    with pytest.raises(appeals.AlreadyAppealed):
        appeals.open_appeal(
            defence(),
            existing=first,
            appeal_id="a2",
            grounds=GROUNDS,
            opened_by="x",
            opened_by_role="candidate",
            now=NOW,
            window=WINDOW,
            resolution_time=WINDOW,
        )
    with pytest.raises(appeals.AppealRefused) as short:
        appeals.open_appeal(
            defence(),
            existing=None,
            appeal_id="a3",
            grounds="  trop court  ",
            opened_by="x",
            opened_by_role="candidate",
            now=NOW,
            window=WINDOW,
            resolution_time=WINDOW,
        )
    assert short.value.field == "grounds"


@pytest.mark.parametrize("by", ["officer-7", "jury-1", "cand-account"])
def test_the_jury_the_recorder_and_the_opener_may_not_resolve(by: str) -> None:
    with pytest.raises(appeals.NotImpartial):
        resolve(open_(defence()), by)


def test_a_resolution_is_final_the_same_again_is_a_retry() -> None:
    resolved, new = resolve(open_(defence()), "officer-2")
    assert new and resolved.status == "resolved"
    assert resolve(resolved, "officer-2") == (resolved, False)
    with pytest.raises(appeals.AlreadyResolved):
        resolve(resolved, "officer-2", "dismissed")


def test_a_withdrawal_cancels_only_a_defence_still_to_come() -> None:
    to_come = schedule(in_days=8)
    cancelled = cancelled_on_withdrawal([to_come], [], withdrawn_at=NOW, by="officer-9", at=NOW)
    assert cancelled is not None and (cancelled.cancel_reason, cancelled.cancelled_by) == (
        "candidate_withdrawn",
        "officer-9",
    )
    assert pending([cancelled], []) is None
    later = NOW + timedelta(days=9)
    assert cancelled_on_withdrawal([to_come], [], withdrawn_at=later, by="x", at=later) is None  # held
    assert cancelled_on_withdrawal([to_come], [defence("d1")], withdrawn_at=NOW, by="x", at=NOW) is None


@pytest.mark.parametrize(("factor", "minutes"), [(1.0, 60), (1.33, 80), (1.5, 90), (2.0, 120), (1.01, 61)])
def test_extra_time_multiplies_the_defence_rounded_up_to_the_minute(factor: float, minutes: int) -> None:
    granted = accommodation.of(factor, None)
    assert replace(schedule(), accommodation=granted).duration_minutes == minutes


def test_no_extra_time_and_no_adapted_defence_is_no_accommodation() -> None:
    assert accommodation.of(1.0, None) is None and accommodation.of(1.0, "") is None
    adapted = accommodation.of(1.0, "Interprète LSF.")
    assert adapted is not None and adapted.applied_to == ()
    assert accommodation.of(1.5, None).applied_to == ("defence_duration",)  # type: ignore[union-attr]
