"""Identical requests at the same moment, and a jury validation racing an upheld appeal: each answers the
idempotent 200 (or 201 for the one that wrote), never a 500 (measured before: 1x201, 7x200, 2x500 for ten
identical jury decisions; 9 of 15 validations racing an upheld appeal answered 500 on criterion_validations).
On SQLite here and PostgreSQL with ``-m integration``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from certifia_shared.testing import auth, outbox_events

from ..conftest import ctx_of

JURY = auth("jury", subject="jury-1")
OFFICER = auth("officer", subject="officer-1")
OWN = auth("candidate", subject="account-1", candidate_id="cand-1")
CRITERION = "2.A1.C1.E1"
UPHELD = {"outcome": "upheld", "reasoning": "Le jeu de test caché était en effet défectueux."}


def parallel(n: int, call: Callable[[int], Any]) -> list[Any]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(call, range(n)))


def test_identical_jury_decisions_at_once_record_one(client: TestClient, enrol: Callable[..., None]) -> None:
    enrol("cand-1")
    body = {"criterion_id": CRITERION, "outcome": "validated", "comment": "ok"}
    answers = parallel(10, lambda _i: client.post("/candidates/cand-1/decisions", headers=JURY, json=body))
    assert Counter(r.status_code for r in answers) == {201: 1, 200: 9}, [r.text[:200] for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    validated = [e for e in outbox_events(ctx_of(client)) if e.type.endswith("criterion.validated.v1")]
    assert len(validated) == 1


def test_a_validation_racing_an_upheld_appeal_is_never_a_500(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    for i in range(5):
        cid = f"cand-r{i}"
        enrol(cid)
        own = auth("candidate", subject=f"account-{i}", candidate_id=cid)
        rejected = client.post(
            f"/candidates/{cid}/decisions",
            headers=JURY,
            json={"criterion_id": CRITERION, "outcome": "rejected", "comment": "non"},
        ).json()
        grounds = "Le jeu de test caché contenait des doublons que l'énoncé interdisait."
        appeal = client.post(
            f"/candidates/{cid}/appeals",
            headers=own,
            json={"decision_id": rejected["id"], "grounds": grounds},
        ).json()

        def one(k: int, cid: str = cid, appeal_id: str = appeal["id"]) -> Any:
            if k == 0:
                return client.post(f"/appeals/{appeal_id}/resolution", headers=OFFICER, json=UPHELD)
            body = {"criterion_id": CRITERION, "outcome": "validated", "comment": "finalement oui"}
            return client.post(f"/candidates/{cid}/decisions", headers=JURY, json=body)

        answers = parallel(3, one)
        assert all(r.status_code in (200, 201) for r in answers), [
            (r.status_code, r.text[:300]) for r in answers
        ]
        decisions = client.get(f"/candidates/{cid}/decisions", headers=JURY).json()
        assert [d["outcome"] for d in decisions].count("validated") == 1
