"""Every candidate-scoped route of grading-compute, called by every kind of caller
(certifia_shared.tenancy_matrix): measured before, another LMS read a candidate's grading report. The
tenant comes from candidate.enrolled, which grading-compute now consumes for that alone."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from certifia_grading.bootstrap import create_application
from certifia_grading.config import Settings
from certifia_grading.service_layer.events import event_handlers
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent
from certifia_shared.tenancy_matrix import Matrix, assert_holds
from certifia_shared.testing import enrolled_event


def grading_requested(candidate_id: str) -> CloudEvent:
    return CloudEvent(
        type=ev.GRADING_REQUESTED,
        source="/certifia/assessment",
        subject=candidate_id,
        data={
            "submission_id": "sub-1",
            "candidate_id": candidate_id,
            "evaluation_id": "2.EV1",
            "pack_id": "b2_data_cleaning",
            "criteria": ["2.A1.C1.E1"],
            "artifact": {"url": "http://127.0.0.1:1/x", "sha256": "a" * 64, "size_bytes": 3},
            "requested_at": "2026-11-25T08:00:00+00:00",
        },
    )


def test_the_tenancy_rule_holds_on_every_candidate_scoped_route(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'grading.db'}",
        run_background_workers=False,
    )
    app = create_application(settings)
    handlers = event_handlers()
    with TestClient(app) as client:
        for event in (enrolled_event("cand-1", lms_client="lms-a"), grading_requested("cand-1")):
            with app.state.ctx.uow() as uow:
                handlers[event.type](event, uow)
                uow.commit()
        matrix = Matrix(
            client,
            candidate_id="cand-1",
            owner_lms="lms-a",
            resources={"submission_id": "sub-1"},
            not_candidate_scoped={"/packs/{pack_id}"},
        )
        assert_holds(matrix)
    app.state.ctx.db_engine.dispose()
