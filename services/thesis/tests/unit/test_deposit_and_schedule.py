"""Deposit and scheduling rules: plain domain functions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from certifia_thesis.domain.deposit import (
    Deposit,
    DepositRefused,
    ThesisFileTooLarge,
    check_mission_counts,
    check_thesis_file,
    latest,
    next_version,
    same_deposit,
)
from certifia_thesis.domain.model import (
    CandidateWithdrawn,
    Defence,
    DefenceNotHeldYet,
    KnownCandidate,
    Mission,
    check_active,
    check_held,
    thesis_status,
)
from certifia_thesis.domain.schedule import (
    DefenceSchedule,
    JuryMember,
    ScheduleRefused,
    check_date,
    check_jury,
    pending,
    same_schedule,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PRESIDENT, MEMBER = JuryMember("Pr Durand", "president"), JuryMember("Dr Martin", "member")


def deposit(version: int = 1, *, days_ago: int = 10, sha: str = "ab" * 32) -> Deposit:
    return Deposit(
        id=f"dep-{version}",
        candidate_id="c1",
        mission_id="m1",
        version=version,
        title="Ma thèse",
        abstract="x" * 60,
        sha256=sha,
        size_bytes=100,
        filename=None,
        submitted_at=NOW - timedelta(days=days_ago),
        submitted_by="c1",
    )


def schedule(sid: str, *, days_ago: int = 0) -> DefenceSchedule:
    at = NOW - timedelta(days=days_ago)
    return DefenceSchedule(
        sid, "c1", "dep-1", NOW + timedelta(days=8), "B204", (PRESIDENT, MEMBER), "o", at, at
    )


def outcome(did: str, result: str = "failed") -> Defence:
    return Defence(did, "c1", "m1", result, 8.0, ("Pr Durand",), NOW, NOW, "jury-1")  # type: ignore[arg-type]


def mission(end: date, fte: float = 1.0) -> Mission:
    return Mission("m1", "c1", "Acme", None, None, date(2026, 1, 1), end, fte, 0.0, NOW)


# -- the file -------------------------------------------------------------------------------------
def test_a_non_empty_pdf_within_the_limit_is_accepted() -> None:
    check_thesis_file(b"%PDF-1.7\n%%EOF", 100)
    check_thesis_file(b"%PDF-" + b"x" * 95, 100)  # exactly the limit


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04", b"%PDF", b" %PDF-1.7", b"<html>%PDF-"])
def test_empty_or_not_a_pdf_is_refused_naming_file(content: bytes) -> None:
    with pytest.raises(DepositRefused) as refused:
        check_thesis_file(content, 100)
    assert refused.value.field == "file" and not isinstance(refused.value, ThesisFileTooLarge)


def test_one_byte_over_the_limit_is_too_large() -> None:
    with pytest.raises(ThesisFileTooLarge) as refused:
        check_thesis_file(b"%PDF-" + b"x" * 96, 100)
    assert refused.value.field == "file" and refused.value.max_bytes == 100


# -- the mission and versions ---------------------------------------------------------------------
def test_the_mission_must_count_for_the_thesis() -> None:
    check_mission_counts(mission(date(2026, 4, 30)))  # 4 months full time
    with pytest.raises(DepositRefused) as refused:
        check_mission_counts(mission(date(2026, 4, 30), fte=0.5))
    assert refused.value.field == "mission_id" and "minimum is 4 months" in refused.value.message


def test_versions_count_up_and_the_latest_counts() -> None:
    assert next_version([]) == 1 and latest([]) is None
    deposits = [deposit(2), deposit(1)]
    assert next_version(deposits) == 3 and latest(deposits) == deposits[0]


def test_the_same_deposit_again_is_a_retry() -> None:
    current = deposit()
    assert same_deposit(current, "m1", "Ma thèse", "x" * 60, "ab" * 32)
    assert not same_deposit(current, "m1", "Ma thèse", "x" * 60, "cd" * 32)
    assert not same_deposit(current, "m1", "Autre titre", "x" * 60, "ab" * 32)
    assert not same_deposit(None, "m1", "Ma thèse", "x" * 60, "ab" * 32)


# -- the jury and the date ------------------------------------------------------------------------
def test_a_jury_of_two_to_six_with_one_president() -> None:
    check_jury([PRESIDENT, MEMBER])
    check_jury([PRESIDENT, MEMBER, *[JuryMember(f"M{i}", "company_tutor") for i in range(4)]])


@pytest.mark.parametrize(
    ("jury", "why"),
    [
        ([PRESIDENT], "2 to 6 members"),
        ([PRESIDENT, MEMBER, *[JuryMember(f"M{i}", "member") for i in range(5)]], "2 to 6 members"),
        ([MEMBER, JuryMember("Dr Roux", "member")], "exactly one president (got 0)"),
        ([PRESIDENT, JuryMember("Pr Autre", "president")], "exactly one president (got 2)"),
        ([PRESIDENT, MEMBER, JuryMember("  dr   MARTIN ", "company_tutor")], "listed twice"),
    ],
)
def test_bad_juries_are_refused_naming_jury(jury: list[JuryMember], why: str) -> None:
    with pytest.raises(ScheduleRefused, match=re.escape(why)) as refused:
        check_jury(jury)
    assert refused.value.field == "jury"


def test_the_defence_is_in_the_future_and_leaves_the_jury_time_to_read() -> None:
    deposited = deposit(days_ago=2)
    check_date(deposited.submitted_at + timedelta(days=7), deposited, NOW, reading_days=7)  # exactly 7 days
    with pytest.raises(ScheduleRefused, match="needs 7 days") as refused:
        check_date(deposited.submitted_at + timedelta(days=7, seconds=-1), deposited, NOW, reading_days=7)
    assert refused.value.field == "scheduled_at"
    with pytest.raises(ScheduleRefused, match="not in the future"):
        check_date(NOW, deposit(days_ago=30), NOW, reading_days=7)
    check_date(NOW + timedelta(seconds=1), deposit(days_ago=0), NOW, reading_days=0)


def test_the_pending_schedule_is_the_one_without_an_outcome() -> None:
    first, resit = schedule("s1", days_ago=20), schedule("s2")
    assert pending([], []) is None
    assert pending([first], []) == first
    assert pending([first], [outcome("s1")]) is None
    assert pending([first, resit], [outcome("s1")]) == resit


def test_the_same_schedule_again_is_a_retry() -> None:
    current = schedule("s1")
    assert same_schedule(current, current.scheduled_at.astimezone(), "B204", [PRESIDENT, MEMBER])
    assert not same_schedule(current, current.scheduled_at, "B205", [PRESIDENT, MEMBER])
    assert not same_schedule(current, current.scheduled_at, "B204", [MEMBER, PRESIDENT])


# -- withdrawal, held defence, status -------------------------------------------------------------
def test_a_withdrawn_candidate_is_refused_naming_when() -> None:
    active = KnownCandidate("c1", "moodle", "formation", "Ada", "Lovelace")
    check_active(active)
    with pytest.raises(CandidateWithdrawn) as refused:
        check_active(KnownCandidate("c1", "moodle", "formation", "Ada", "Lovelace", withdrawn_at=NOW))
    assert refused.value.withdrawn_at == NOW


def test_an_outcome_waits_for_the_scheduled_time() -> None:
    check_held(NOW, NOW)
    check_held(NOW + timedelta(minutes=4), NOW)  # clock skew tolerated
    with pytest.raises(DefenceNotHeldYet):
        check_held(NOW + timedelta(hours=1), NOW)


def test_status_follows_deposit_and_scheduling() -> None:
    m = [mission(date(2026, 6, 30))]
    assert thesis_status(m, [], deposited=True) == "thesis_deposited"
    assert thesis_status(m, [], deposited=True, scheduled=True) == "defence_scheduled"
    assert thesis_status(m, [outcome("s1")], deposited=True, scheduled=True) == "defence_scheduled"  # a resit
    assert thesis_status(m, [outcome("s1")], deposited=True) == "defended_failed"
    assert thesis_status(m, [outcome("s1", "passed")], deposited=True) == "defended_passed"
