"""The tenancy rule (certifia_shared.tenancy), pure: who may see which candidate; and the directory of
candidates' LMSs over a service's table (SQLite)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Engine, MetaData, String, Table, create_engine, event, insert, update
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

from certifia_shared.auth import Principal
from certifia_shared.problems import Problem, not_found
from certifia_shared.tenancy import UNKNOWN, TableTenants, check_visible, reads_directory

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


# -- TableTenants over a real (SQLite) table ---------------------------------------------------------------
@pytest.fixture
def tenants_table() -> Iterator[tuple[Engine, Table, list[str]]]:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    table = Table(
        "candidates", MetaData(), Column("id", String, primary_key=True), Column("lms_client", String)
    )
    table.metadata.create_all(engine)
    selects: list[str] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: selects.append(statement) if statement.startswith("SELECT") else None,
    )
    yield engine, table, selects
    engine.dispose()


def _directory(engine: Engine, table: Table, **kw: int) -> TableTenants:
    return TableTenants(sessionmaker(engine), table.c.id, table.c.lms_client, **kw)


def test_a_candidates_lms_is_read_once_then_remembered(tenants_table: Any) -> None:
    engine, table, selects = tenants_table
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": "c-1", "lms_client": "moodle"}])
    directory = _directory(engine, table)

    assert [directory.tenant_of("c-1") for _ in range(5)] == ["moodle"] * 5
    assert len(selects) == 1


def test_what_is_not_known_yet_is_read_again_until_it_is(tenants_table: Any) -> None:
    """A candidate not heard of yet, or whose LMS is not learnt yet (certification learns it late)."""
    engine, table, selects = tenants_table
    directory = _directory(engine, table)

    assert directory.tenant_of("c-late") is UNKNOWN
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": "c-late", "lms_client": None}])
    assert directory.tenant_of("c-late") is None
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == "c-late").values(lms_client="moodle"))
    assert directory.tenant_of("c-late") == "moodle"
    assert directory.tenant_of("c-late") == "moodle"
    assert len(selects) == 3


def test_the_remembered_owners_are_bounded_least_recently_asked_forgotten_first(tenants_table: Any) -> None:
    engine, table, selects = tenants_table
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": f"c-{i}", "lms_client": "moodle"} for i in range(3)])
    directory = _directory(engine, table, remember=2)

    for cid in ("c-0", "c-1", "c-0", "c-2"):  # c-1, the least recently asked, goes when c-2 comes
        directory.tenant_of(cid)
    assert len(selects) == 3
    directory.tenant_of("c-0")
    assert len(selects) == 3
    directory.tenant_of("c-1")
    assert len(selects) == 4


class CountingDirectory(Directory):
    def __init__(self) -> None:
        self.reads = 0

    def tenant_of(self, candidate_id: str) -> str | object | None:
        self.reads += 1
        return super().tenant_of(candidate_id)


@pytest.mark.parametrize(
    "principal",
    [
        who("jury"),
        who("officer", "lms", client_id="moodle"),
        who("lms", client_id="moodle"),
        who("lms", client_id="canvas"),
        who("lms"),
        who("candidate", candidate_id="c-1"),
        who("candidate", candidate_id="c-2"),
        who("candidate", "lms", candidate_id="c-1", client_id="moodle"),
        who(),
    ],
)
@pytest.mark.parametrize("candidate_id", ["c-1", "nobody"])
def test_reads_directory_says_when_the_rule_reads_the_directory(
    principal: Principal, candidate_id: str
) -> None:
    """The dependency runs the rule on the event loop unless it reads the database (issue 15): the two must
    agree, or a read would block the loop."""
    directory = CountingDirectory()
    with contextlib.suppress(Problem):
        check_visible(principal, candidate_id, directory)
    assert reads_directory(principal, candidate_id) == (directory.reads > 0)
