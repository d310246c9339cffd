"""Appeals under concurrency, and the 0002 migration, on the real PostgreSQL test database (no Kafka: the
use cases are called directly, as the API calls them).

Two callers are held at a barrier just before their write, once both have passed every read-side check:
the interleaving in which only the database (the unique constraint, the conditional UPDATE) can keep the
second from doubling the first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select

from certifia_assessment.adapters.orm import appeals
from certifia_assessment.adapters.repository import AppealRepository
from certifia_assessment.bootstrap import MIGRATIONS
from certifia_assessment.domain.appeals import AlreadyAppealed, AlreadyResolved, Appeal
from certifia_assessment.service_layer import appeals as use_cases
from certifia_shared import event_types as ev
from certifia_shared.db import migrate
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth, outbox_events

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("client", ["postgresql"], indirect=True)]
GROUNDS = "Le jeu de test caché contenait des doublons que l'énoncé interdisait."
REASONING = "Après revue du rapport, les doublons faussaient la mesure : recours fondé."
CRITERION = "2.A1.C1.E1"


def rejection(client: TestClient, candidate_id: str = "cand-1", criterion: str = CRITERION) -> str:
    response = client.post(
        f"/candidates/{candidate_id}/decisions",
        json={
            "criterion_id": criterion,
            "outcome": "rejected",
            "comment": "Le livrable ne traite pas la consigne.",
        },
        headers=auth("jury", subject="jury-1"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def hold_before(monkeypatch: pytest.MonkeyPatch, method: str, parties: int) -> None:
    """Make ``AppealRepository.<method>`` wait until ``parties`` threads have reached it."""
    barrier = threading.Barrier(parties, timeout=30)
    original = getattr(AppealRepository, method)

    def held(self: AppealRepository, *args: Any) -> Any:
        barrier.wait()
        return original(self, *args)

    monkeypatch.setattr(AppealRepository, method, held)


def run_at_once(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in threads; each one's result or the exception it raised, in order."""
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            results[i] = jobs[i]()
        except BaseException as exc:  # returned to the test's thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def count_appeals(ctx: ServiceContext) -> int:
    with ctx.sessions() as session:
        return int(session.execute(select(func.count()).select_from(appeals)).scalar_one())


def test_two_openings_at_once_for_one_decision_make_one_appeal(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    enrol("cand-1")
    decision_id = rejection(client)
    hold_before(monkeypatch, "add_appeal", 2)

    def opener(who: str, role: Any) -> Callable[[], Appeal]:
        cmd = use_cases.OpenAppeal("cand-1", decision_id, GROUNDS, who, role)
        window = client.app.state.settings.appeal_window()  # type: ignore[attr-defined]
        return lambda: use_cases.open_appeal(cmd, uow=ctx.uow(), window=window)

    results = run_at_once([opener("account-1", "candidate"), opener("officer-1", "officer")])
    [winner] = [r for r in results if isinstance(r, Appeal)]
    [loser] = [r for r in results if not isinstance(r, Appeal)]
    assert isinstance(loser, AlreadyAppealed), loser
    assert loser.appeal.id == winner.id, "the refusal names the appeal that was made"
    assert count_appeals(ctx) == 1
    [opened] = outbox_events(ctx, ev.APPEAL_OPENED)
    assert opened.data["appeal_id"] == winner.id


def test_two_officers_resolving_at_once_resolve_once(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    enrol("cand-1")
    response = client.post(
        "/candidates/cand-1/appeals",
        json={"decision_id": rejection(client), "grounds": GROUNDS},
        headers=auth("candidate", subject="account-1", candidate_id="cand-1"),
    )
    appeal_id = response.json()["id"]
    hold_before(monkeypatch, "record_resolution", 2)
    referential = client.app.state.referential  # type: ignore[attr-defined]

    def officer(n: int) -> Callable[[], tuple[Appeal, bool]]:
        cmd = use_cases.ResolveAppeal(appeal_id, "upheld", f"{REASONING} ({n})", f"officer-{n}", "officer")
        return lambda: use_cases.resolve_appeal(cmd, uow=ctx.uow(), referential=referential)

    results = run_at_once([officer(1), officer(2)])
    [(winner, new)] = [r for r in results if isinstance(r, tuple)]
    [loser] = [r for r in results if not isinstance(r, tuple)]
    assert new and isinstance(loser, AlreadyResolved), loser
    assert loser.appeal.resolution == winner.resolution, "the refusal shows the resolution in force"
    [resolved] = outbox_events(ctx, ev.APPEAL_RESOLVED)
    [validated] = outbox_events(ctx, ev.CRITERION_VALIDATED)
    assert resolved.data["resolved_by"] == winner.resolution.resolved_by  # type: ignore[union-attr]
    assert resolved.data["resolution_decision_id"] == validated.data["decision_id"]
    decisions = client.get("/candidates/cand-1/decisions", headers=auth("officer")).json()
    assert [d["outcome"] for d in decisions] == ["rejected", "validated"]


def test_the_appeals_migration_downgrades_and_upgrades(client: TestClient, ctx: ServiceContext) -> None:
    assert "appeals" in inspect(ctx.db_engine).get_table_names()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    with ctx.db_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert "appeals" not in inspect(ctx.db_engine).get_table_names()
    migrate(ctx.db_engine, MIGRATIONS)
    columns = {c["name"] for c in inspect(ctx.db_engine).get_columns("appeals")}
    assert {"decision_id", "status", "resolution_decision_id"} <= columns
    uniques = inspect(ctx.db_engine).get_unique_constraints("appeals")
    assert [u["column_names"] for u in uniques] == [["decision_id"]]
