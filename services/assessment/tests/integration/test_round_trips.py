"""How many statements a jury decision and a progress read cost (issue 15, item 2).

bench-api measured both routes at a fifth of a peer doing the same writes; a decision then ran 16
statements in two transactions (the candidate read three times, the accommodations and submissions read
for a validation that needs neither), a progress read 8. These pin the counts that replaced them: 11, then 9
once the rules read the bloc's criteria, competencies and pass in one query (three before); a progress read 7,
then 4 once its decisions, validations, competencies and passes are one query.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event

from certifia_assessment.domain.model import Decision, Outcome
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth

JURY = auth("jury", subject="jury-1")
REFERENTIAL = load_referential()


def _statements(client: TestClient) -> list[str]:
    seen: list[str] = []
    sa_event.listen(
        client.app.state.ctx.db_engine,  # type: ignore[attr-defined]
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: seen.append(" ".join(statement.split())),
    )
    return seen


def test_a_validation_reads_the_candidate_once_and_nothing_a_validation_does_not_need(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    seen = _statements(client)
    criterion = REFERENTIAL.bloc("3").criteria[1]

    answer = client.post(
        "/candidates/cand-1/decisions",
        json={"criterion_id": criterion.id, "outcome": "validated", "comment": "ok"},
        headers=JURY,
    )

    assert answer.status_code == 201, answer.text
    assert len(seen) <= 9, "\n".join(seen)
    assert sum(s.startswith("SELECT candidates.") for s in seen) == 1, "\n".join(seen)
    assert not [s for s in seen if "accommodation" in s or "FROM submissions" in s], "\n".join(seen)
    assert sum(s.startswith("BEGIN") for s in seen) <= 1
    assert not [s for s in seen if s.startswith("SELECT bloc_passes.")], "\n".join(seen)  # in the union


def test_a_progress_read_costs_at_most_four_statements(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    client.post(
        "/candidates/cand-1/decisions",
        json={"criterion_id": REFERENTIAL.bloc("3").criteria[0].id, "outcome": "validated", "comment": "ok"},
        headers=JURY,
    )
    seen = _statements(client)

    answer = client.get("/candidates/cand-1/progress", headers=JURY)

    assert answer.status_code == 200, answer.text
    assert len(seen) <= 4, "\n".join(seen)
    assert sum(s.startswith("SELECT candidates.") for s in seen) == 1, "\n".join(seen)
    assert not [s for s in seen if s.startswith(("SELECT bloc_passes.", "SELECT competency_validations."))]


def test_a_candidates_standing_in_one_query_is_what_the_separate_reads_give(ctx: ServiceContext) -> None:
    """The latest outcome per criterion (by decision time, then id; a validation stands whatever came after),
    the validated competencies and the passed blocs: the union agrees with the queries it replaced."""
    t0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
    hour = timedelta(hours=1)

    def decision(n: int, criterion: str, outcome: Outcome, at: datetime, cid: str = "cand-1") -> Decision:
        return Decision(f"d{n}", cid, "3", criterion, criterion, outcome, "why", "jury-1", "jury", at)

    with ctx.uow() as uow:
        repo = uow.decisions
        repo.add_decision(decision(1, "c-rejected-then-validated", "validated", t0))
        repo.add_decision(decision(2, "c-rejected-then-validated", "rejected", t0 - hour))  # recorded later
        repo.add_decision(decision(3, "c-validated-then-rejected", "validated", t0))
        repo.add_decision(decision(4, "c-validated-then-rejected", "rejected", t0 + hour))
        repo.add_decision(decision(5, "c-rejected", "rejected", t0))
        repo.add_decision(decision(6, "c-elsewhere", "validated", t0, cid="cand-2"))
        repo.add_competency_validation("cand-1", "3.C1", "3", t0)
        repo.add_competency_validation("cand-2", "3.C2", "3", t0)
        repo.add_bloc_pass("cand-1", "3", "jury", t0)
        uow.commit()

    with ctx.uow() as uow:
        repo = uow.decisions
        outcomes, competencies, passed = repo.standing("cand-1")
        assert outcomes == repo.latest_outcomes("cand-1")
        assert outcomes == {
            "c-rejected-then-validated": "validated",
            "c-validated-then-rejected": "validated",
            "c-rejected": "rejected",
        }
        assert competencies == repo.validated_competencies("cand-1") == {"3.C1"}
        assert passed == set(repo.passed_blocs("cand-1")) == {"3"}
        assert repo.standing("nobody") == ({}, set(), set())
