"""Every candidate-scoped route of certification, called by every kind of caller (certifia_shared.tenancy_matrix):
an LMS reaches only the candidates it enrolled (measured before: another LMS read a candidate's progress,
diploma credential and diploma PDF), a candidate only themself, staff everyone."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from certifia_certification.bootstrap import CertificationContext
from certifia_shared.tenancy_matrix import Matrix, assert_holds
from certifia_shared.testing import auth

PUBLIC = {
    "/diplomas/{diploma_id}/verification",  # anyone verifies a diploma: an employer, a wallet
    "/diplomas/{diploma_id}/verify",
    "/status-lists/{list_id}",
    "/achievements/{achievement_id}",  # what the credentials' achievement ids resolve to: the same for all
    "/achievements/{achievement_id}/blocs/{bloc}",
}


def test_the_tenancy_rule_holds_on_every_candidate_scoped_route(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    apply_events(app_ctx, *events.full_candidate())  # enrolled by the LMS "moodle"
    progress = client.get(f"/candidates/{events.candidate_id}/progress", headers=auth("officer")).json()
    matrix = Matrix(
        client,
        candidate_id=events.candidate_id,
        owner_lms="moodle",
        resources={
            "diploma_id": progress["diploma_id"],
            "certificate_id": progress["certificates"][0]["certificate_id"],
        },
        not_candidate_scoped=PUBLIC,
    )
    assert_holds(matrix)
