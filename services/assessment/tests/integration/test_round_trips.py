"""How many statements a jury decision and a progress read cost (issue 15, item 2).

bench-api measured both routes at a fifth of a peer doing the same writes; a decision then ran 16
statements in two transactions (the candidate read three times, the accommodations and submissions read
for a validation that needs neither), a progress read 8. These pin the counts that replaced them: 11, then 9
once the rules read the bloc's criteria, competencies and pass in one query (three before).
"""

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event

from certifia_shared.referential import load_referential
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


def test_a_progress_read_costs_at_most_seven_statements(
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
    assert len(seen) <= 7, "\n".join(seen)
    assert sum(s.startswith("SELECT candidates.") for s in seen) == 1, "\n".join(seen)
