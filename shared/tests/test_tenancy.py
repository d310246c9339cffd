"""The tenancy rule (certifia_shared.tenancy), pure: who may see which candidate."""

from __future__ import annotations

import pytest

from certifia_shared.auth import Principal
from certifia_shared.problems import Problem, not_found
from certifia_shared.tenancy import UNKNOWN, check_visible

DIRECTORY = {"c-1": "moodle", "c-legacy": None}


class Directory:
    def tenant_of(self, candidate_id: str) -> str | object | None:
        return DIRECTORY.get(candidate_id, UNKNOWN)


def who(*roles: str, candidate_id: str | None = None, client_id: str | None = None) -> Principal:
    return Principal("someone", frozenset(roles), candidate_id=candidate_id, client_id=client_id)


def refusal(principal: Principal, candidate_id: str, **kw: Problem) -> Problem | None:
    try:
        check_visible(principal, candidate_id, Directory(), **kw)
    except Problem as problem:
        return problem
    return None


@pytest.mark.parametrize("role", ["admin", "officer", "jury", "service"])
def test_staff_see_everyone_known_or_not(role: str) -> None:
    assert refusal(who(role), "c-1") is None and refusal(who(role), "nobody") is None


def test_an_lms_sees_only_the_candidates_it_enrolled() -> None:
    assert refusal(who("lms", client_id="moodle"), "c-1") is None
    other, unknown = (
        refusal(who("lms", client_id="canvas"), "c-1"),
        refusal(who("lms", client_id="canvas"), "x"),
    )
    assert other is not None and unknown is not None
    assert (other.status, other.title) == (unknown.status, unknown.title) == (404, "Candidate not found")


def test_an_lms_token_without_a_client_id_speaks_for_its_subject() -> None:
    assert refusal(Principal("moodle", frozenset({"lms"})), "c-1") is None


def test_a_candidate_enrolled_by_no_lms_is_seen_by_no_lms() -> None:
    assert refusal(who("lms", client_id="moodle"), "c-legacy") is not None


def test_a_candidate_sees_only_themself() -> None:
    assert refusal(who("candidate", candidate_id="c-1"), "c-1") is None
    problem = refusal(who("candidate", candidate_id="c-1"), "c-2")
    assert problem is not None and problem.status == 403


def test_a_resource_reached_by_its_own_id_is_hidden_from_whoever_may_not_see_it() -> None:
    hidden = not_found("Diploma", "d-1", "diploma_id")
    for principal in (who("candidate", candidate_id="c-9"), who("lms", client_id="canvas")):
        assert refusal(principal, "c-1", hidden_as=hidden) is hidden


def test_no_role_no_access() -> None:
    problem = refusal(who(), "c-1")
    assert problem is not None and problem.status == 403
