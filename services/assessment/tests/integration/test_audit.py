"""A candidate's audit trail (issue 17, item 8): every decision, VAE ruling, appeal opening and resolution,
accommodation and withdrawal, with the account, role, time and reason, oldest first; staff read every
candidate's, the candidate their own, an LMS those it enrolled. And the migrated database is what the ORM says."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from certifia_assessment.adapters.orm import metadata
from certifia_assessment.service_layer.events import on_candidate_withdrawn
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth

JURY = auth("jury", subject="jury-1")
OFFICER = auth("officer", subject="officer-1")
GROUNDS = "Le jeu de test caché contenait des doublons que l'énoncé interdisait."
REASONING = "Après revue du rapport, les doublons faussaient la mesure : recours fondé."
VAE = {"comment": "Livret 2 probant : activités exercées en poste.", "evidence_reference": "VAE-2026-009"}


def test_staff_and_the_candidate_read_who_did_what_when_and_why(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol("cand-1", "vae")
    own = auth("candidate", subject="account-1", candidate_id="cand-1")
    rejection = client.post(
        "/candidates/cand-1/decisions",
        json={"criterion_id": "2.A1.C1.E1", "outcome": "rejected", "comment": "le nettoyage manque"},
        headers=JURY,
    ).json()
    opened = client.post(
        "/candidates/cand-1/appeals", json={"decision_id": rejection["id"], "grounds": GROUNDS}, headers=own
    ).json()
    client.post(
        f"/appeals/{opened['id']}/resolution",
        json={"outcome": "dismissed", "reasoning": REASONING},
        headers=OFFICER,
    )
    assert (
        client.post("/candidates/cand-1/vae-decisions", json={"bloc": "3", **VAE}, headers=JURY).status_code
        == 201
    )
    data = {
        "candidate_id": "cand-1",
        "withdrawn_at": utcnow().isoformat(),
        "reason": "Départ à l'étranger.",
        "withdrawn_by_role": "candidate",
        "withdrawn_by": "account-1",
    }
    with ctx.uow() as uow:
        on_candidate_withdrawn(
            CloudEvent(type=ev.CANDIDATE_WITHDRAWN, source="/e", subject="cand-1", data=data), uow
        )
        uow.commit()

    trail = client.get("/candidates/cand-1/audit", headers=OFFICER).json()
    assert [(e["kind"], e["account"], e["role"], e["reason"]) for e in trail] == [
        ("decision", "jury-1", "jury", "le nettoyage manque"),
        ("appeal_opened", "account-1", "candidate", GROUNDS),
        ("appeal_resolved", "officer-1", "officer", REASONING),
        ("vae_decision", "jury-1", "jury", VAE["comment"]),
        ("withdrawal", "account-1", "candidate", "Départ à l'étranger."),
    ]
    assert [e["at"] for e in trail] == sorted(e["at"] for e in trail)
    assert trail[0]["ref"] == rejection["id"] and trail[0]["outcome"] == "rejected"
    assert trail[1]["ref"] == trail[2]["ref"] == opened["id"] and trail[2]["outcome"] == "dismissed"
    assert (trail[3]["evidence_reference"], trail[3]["outcome"], trail[3]["bloc"]) == (
        "VAE-2026-009",
        "validated",
        "3",
    )
    assert client.get("/candidates/cand-1/audit", headers=own).json() == trail
    assert client.get("/candidates/cand-1/audit", headers=auth("lms", client_id="moodle")).json() == trail
    assert client.get("/candidates/cand-1/audit", headers=auth("admin")).status_code == 200
    other = auth("candidate", subject="account-2", candidate_id="cand-2")
    assert client.get("/candidates/cand-1/audit", headers=other).status_code == 403
    hidden = client.get("/candidates/cand-1/audit", headers=auth("lms", client_id="lms-other"))
    assert hidden.status_code == 404 and hidden.json()["title"] == "Candidate not found"
    assert client.get("/candidates/nobody/audit", headers=OFFICER).status_code == 404


def test_the_migrated_database_is_what_the_orm_describes_for_governance(ctx: ServiceContext) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    ours = {"vae_decisions", "accommodations"}
    columns = {
        ("candidates", "withdrawn_by"),
        ("candidates", "withdrawn_by_role"),
        ("candidates", "withdrawal_reason"),
        ("decisions", "earned_at"),
        ("competency_validations", "earned_at"),
        ("bloc_passes", "earned_at"),
    }
    with ctx.db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    mine = [
        c
        for c in diff
        if any(t in repr(c) for t in ours) or any(t in repr(c) and n in repr(c) for t, n in columns)
    ]
    assert mine == [], mine
    everything = [c for c in diff if "verdict_" not in repr(c)]  # jury review's tables are 0005's
    assert everything == [], everything
