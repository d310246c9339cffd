"""Every candidate-scoped route of thesis, called by every kind of caller (certifia_shared.tenancy_matrix):
an LMS reaches only the candidates it enrolled, a candidate only themself, staff everyone."""

from __future__ import annotations

from typing import Any

from certifia_shared.tenancy_matrix import Matrix, assert_holds


def test_the_tenancy_rule_holds_on_every_candidate_scoped_route(app: Any) -> None:
    app.enrol("cand-1", lms_client="lms-a")
    mission_id = app.mission("cand-1").json()["id"]
    assert app.deposit(mission_id, "cand-1").status_code == 201
    assert_holds(Matrix(app.client, candidate_id="cand-1", owner_lms="lms-a"))
