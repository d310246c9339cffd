"""assessment against the real PostgreSQL and the real Kafka broker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from certifia_assessment.bootstrap import create_application
from certifia_assessment.config import Settings
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent, headers_dict
from certifia_shared.referential import load_referential
from certifia_shared.testing import (
    auth,
    enrolled_event,
    fresh_pg_url,
    kafka_bootstrap,
    kafka_settings,
    publish,
    read_topic,
    wait_for,
)

pytestmark = pytest.mark.integration
REF = load_referential()
JURY = auth("jury", subject="jury-int")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=fresh_pg_url("assessment"),
        **kafka_settings("assessment"),
        artifacts_dir=str(tmp_path / "artifacts"),
        relay_poll_seconds=0.05,
    )
    with TestClient(create_application(settings)) as c:
        yield c


def publish_enrolled(candidate_id: str) -> CloudEvent:
    event = enrolled_event(candidate_id)
    publish([event], as_service="enrolment")
    return event


def assessment_events(candidate_id: str) -> list[tuple[str, dict[str, object]]]:
    out = []
    for r in read_topic(kafka_bootstrap(), ev.TOPIC_ASSESSMENT):
        h = headers_dict(r.headers)
        if h.get("ce_subject") == candidate_id:
            out.append((h["ce_type"], json.loads(r.value)))
    return out


def test_enrolment_event_then_decisions_pass_a_bloc_on_the_topic(client: TestClient) -> None:
    cid = f"int-{uuid.uuid4().hex[:8]}"
    publish_enrolled(cid)
    wait_for(
        lambda: client.get(f"/candidates/{cid}/progress", headers=JURY).status_code == 200,
        what="assessment to consume candidate.enrolled",
    )
    publish_enrolled(cid)  # a second enrolled event (another id) for the same candidate changes nothing
    bloc = REF.bloc("4")
    for criterion in bloc.criteria:
        assert (
            client.post(
                f"/candidates/{cid}/decisions",
                headers=JURY,
                json={"criterion_id": criterion.id, "outcome": "validated"},
            ).status_code
            == 201
        )
    published = wait_for(
        lambda: (e := assessment_events(cid)) and any(t == ev.BLOC_PASSED for t, _ in e) and e,
        what="bloc.passed on certifia.assessment",
    )
    types = [t for t, _ in published]
    assert types.count(ev.CRITERION_VALIDATED) == len(bloc.criteria)
    assert types.count(ev.COMPETENCY_VALIDATED) == len(bloc.competencies)
    assert types.count(ev.BLOC_PASSED) == 1
    passed = next(data for t, data in published if t == ev.BLOC_PASSED)
    assert passed["bloc"] == "4" and passed["referential_version"] == REF.version


def test_a_rejected_decision_is_published_and_the_database_unchanged_on_bad_input(client: TestClient) -> None:
    cid = f"int-{uuid.uuid4().hex[:8]}"
    publish_enrolled(cid)
    wait_for(
        lambda: client.get(f"/candidates/{cid}/progress", headers=JURY).status_code == 200, what="enrolled"
    )
    bad = client.post(
        f"/candidates/{cid}/decisions",
        headers=JURY,
        json={"criterion_id": "9.A1.C1.E1", "outcome": "validated"},
    )
    assert bad.status_code == 422
    ok = client.post(
        f"/candidates/{cid}/decisions",
        headers=JURY,
        json={"criterion_id": "2.A1.C1.E1", "outcome": "rejected", "comment": "incomplet"},
    )
    assert ok.status_code == 201
    published = wait_for(lambda: assessment_events(cid), what="criterion.rejected on the topic")
    assert [t for t, _ in published] == [ev.CRITERION_REJECTED]
    assert published[0][1]["comment"] == "incomplet"
    assert client.get(f"/candidates/{cid}/decisions", headers=JURY).json()[0]["outcome"] == "rejected"


def test_an_upheld_appeal_reaches_the_topic_after_the_validation_it_caused(client: TestClient) -> None:
    cid = f"int-{uuid.uuid4().hex[:8]}"
    publish_enrolled(cid)
    wait_for(
        lambda: client.get(f"/candidates/{cid}/progress", headers=JURY).status_code == 200, what="enrolled"
    )
    rejected = client.post(
        f"/candidates/{cid}/decisions",
        headers=JURY,
        json={"criterion_id": "2.A1.C1.E1", "outcome": "rejected", "comment": "seuil non atteint"},
    )
    opened = client.post(
        f"/candidates/{cid}/appeals",
        headers=auth("candidate", subject=f"account-{cid}", candidate_id=cid),
        json={
            "decision_id": rejected.json()["id"],
            "grounds": "Le jeu caché contenait des doublons interdits.",
        },
    )
    assert opened.status_code == 201, opened.text
    resolved = client.post(
        f"/appeals/{opened.json()['id']}/resolution",
        headers=auth("officer", subject="officer-int"),
        json={"outcome": "upheld", "reasoning": "Les doublons faussaient la mesure : recours fondé."},
    )
    assert resolved.status_code == 200, resolved.text
    published = wait_for(
        lambda: (e := assessment_events(cid)) and any(t == ev.APPEAL_RESOLVED for t, _ in e) and e,
        what="appeal.resolved on certifia.assessment",
    )
    assert [t for t, _ in published] == [
        ev.CRITERION_REJECTED,
        ev.APPEAL_OPENED,
        ev.CRITERION_VALIDATED,
        ev.APPEAL_RESOLVED,
    ]
    validated, appeal_resolved = published[2][1], published[3][1]
    assert appeal_resolved["resolution_decision_id"] == validated["decision_id"]
    assert validated["decided_by"] == "officer-int"
