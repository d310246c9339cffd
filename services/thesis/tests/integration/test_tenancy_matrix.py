"""Every candidate-scoped route of thesis, called by every kind of caller (certifia_shared.tenancy_matrix):
an LMS reaches only the candidates it enrolled, a candidate only themself, staff everyone."""

from __future__ import annotations

from typing import Any

from certifia_shared.tenancy_matrix import Matrix, assert_holds


def test_the_tenancy_rule_holds_on_every_candidate_scoped_route(app: Any) -> None:
    app.enrol("cand-1", lms_client="lms-a")
    mission_id = app.scheduled_and_held("cand-1")
    failed = app.defend(mission_id, "cand-1", outcome="failed", grade=8)
    assert failed.status_code == 201, failed.text
    # a defence is addressed by its own id (its appeal lives under it): the candidate's resource
    resources = {"defence_id": failed.json()["id"]}
    assert_holds(Matrix(app.client, candidate_id="cand-1", owner_lms="lms-a", resources=resources))
