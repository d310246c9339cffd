"""Enrolment rules, plain Python (the use cases over the fake unit of work: test_handlers.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from certifia_enrolment.domain.model import (
    OPTIONS,
    Candidate,
    CandidateCertified,
    CandidateWithdrawn,
    EnrolmentConflict,
    HeldDiploma,
    check_same_enrolment,
    ensure_active,
    ensure_option_open,
    withdraw,
)

CANDIDATE = Candidate(
    id="c-1",
    lms_client="moodle",
    external_id="42",
    given_name="Ada",
    family_name="Lovelace",
    email="ada@example.org",
    path="formation",
    cohort="2025",
    enrolled_at=datetime(2025, 1, 1, tzinfo=UTC),
)


def test_the_same_identity_is_the_same_enrolment() -> None:
    check_same_enrolment(
        CANDIDATE,
        {
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": "ada@example.org",
            "path": "formation",
            "cohort": "2025",
        },
    )


def test_differing_identity_fields_are_named() -> None:
    with pytest.raises(EnrolmentConflict) as err:
        check_same_enrolment(
            CANDIDATE,
            {
                "given_name": "Ada",
                "family_name": "Byron",
                "email": "ada@other.org",
                "path": "formation",
                "cohort": "2025",
            },
        )
    assert err.value.fields == ["family_name", "email"]
    assert "family_name, email" in str(err.value)


def test_options_are_the_two_option_blocs() -> None:
    assert OPTIONS == ("5A", "5B")
    assert CANDIDATE.with_option("5B").option == "5B" and CANDIDATE.option is None


def test_a_held_diploma_freezes_every_other_option() -> None:
    ensure_option_open(CANDIDATE, "5B", diploma=None)
    ensure_option_open(CANDIDATE, "5A", diploma=HeldDiploma("dip-1", "5A"))  # the diploma's own option
    with pytest.raises(CandidateCertified) as refused:
        ensure_option_open(CANDIDATE, "5B", diploma=HeldDiploma("dip-1", "5A"))
    assert (refused.value.candidate_id, refused.value.diploma.id) == ("c-1", "dip-1")


def test_a_withdrawal_keeps_who_recorded_it_and_a_repeat_keeps_the_first() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    left, changed = withdraw(CANDIDATE, reason="départ", role="lms", by="moodle", now=now)
    assert changed and (left.withdrawn_by, left.withdrawn_by_role) == ("moodle", "lms")
    again, changed = withdraw(left, reason="autre", role="officer", by="officer-1", now=now)
    assert not changed and again.withdrawn_by == "moodle"


def test_only_an_active_candidate_passes_ensure_active() -> None:
    ensure_active(CANDIDATE)
    left = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(CandidateWithdrawn) as refused:
        ensure_active(replace(CANDIDATE, withdrawn_at=left))
    assert (refused.value.candidate_id, refused.value.withdrawn_at) == ("c-1", left)
    assert "c-1" in str(refused.value) and left.isoformat() in str(refused.value)
