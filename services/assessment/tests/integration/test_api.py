"""The assessment API on an embedded database: decisions, the competency and bloc rules, bad input."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from certifia_shared import event_types as ev
from certifia_shared.referential import load_referential
from certifia_shared.testing import auth

JURY = auth("jury", subject="jury-1")
REF = load_referential()


def decide(client: TestClient, candidate_id: str, criterion_id: str, outcome: str = "validated", **kw: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/candidates/{candidate_id}/decisions",
        json={"criterion_id": criterion_id, "outcome": outcome, "comment": "ok", **kw},
        headers=JURY,
    )


def test_validating_every_criterion_of_a_bloc_passes_it_once(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]]
) -> None:
    enrol("cand-1")
    bloc = REF.bloc("3")
    for criterion in bloc.criteria:
        assert decide(client, "cand-1", criterion.id).status_code == 201
    types = outbox()
    assert types.count(ev.CRITERION_VALIDATED) == len(bloc.criteria)
    assert types.count(ev.COMPETENCY_VALIDATED) == len(bloc.competencies)
    assert types.count(ev.BLOC_PASSED) == 1
    # validating again changes nothing and emits nothing
    again = decide(client, "cand-1", bloc.criteria[0].id)
    assert again.status_code == 200
    assert outbox() == types
    progress = client.get("/candidates/cand-1/progress", headers=JURY).json()
    assert progress["blocs_passed"] == ["3"]
    b3 = next(b for b in progress["blocs"] if b["code"] == "3")
    assert b3["criteria_validated"] == b3["criteria_total"] == len(bloc.criteria)


def test_a_bloc_is_not_passed_while_one_criterion_is_missing(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]]
) -> None:
    enrol("cand-2")
    bloc = REF.bloc("4")
    for criterion in bloc.criteria[:-1]:
        decide(client, "cand-2", criterion.id)
    assert decide(client, "cand-2", bloc.criteria[-1].id, "rejected").status_code == 201
    assert ev.BLOC_PASSED not in outbox()
    assert outbox().count(ev.CRITERION_REJECTED) == 1
    # a new attempt after a rejection may validate it
    assert decide(client, "cand-2", bloc.criteria[-1].id).status_code == 201
    assert outbox().count(ev.BLOC_PASSED) == 1


def test_a_validation_is_final(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]]
) -> None:
    enrol("cand-3")
    criterion = REF.bloc("1").criteria[0].id
    decide(client, "cand-3", criterion)
    response = decide(client, "cand-3", criterion, "rejected")
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "outcome"


def test_bad_input_names_the_field_and_changes_nothing(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]]
) -> None:
    enrol("cand-4")
    unknown_candidate = decide(client, "nobody", "1.A1.C1.E1")
    assert unknown_candidate.status_code == 404
    assert unknown_candidate.headers["content-type"].startswith("application/problem+json")
    assert unknown_candidate.json()["errors"][0]["field"] == "candidate_id"
    unknown_criterion = decide(client, "cand-4", "1.A9.C9.E9")
    assert unknown_criterion.status_code == 422
    assert unknown_criterion.json()["errors"][0]["field"] == "criterion_id"
    bad_outcome = decide(client, "cand-4", "1.A1.C1.E1", "maybe")
    assert bad_outcome.status_code == 422
    assert "outcome" in bad_outcome.json()["errors"][0]["field"]
    assert outbox() == []


def test_only_jury_and_officers_decide_and_candidates_see_only_their_own(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]]
) -> None:
    enrol("cand-5")
    enrol("cand-6")
    own = auth("candidate", subject="c5", candidate_id="cand-5")
    response = client.post(
        "/candidates/cand-5/decisions",
        json={"criterion_id": "1.A1.C1.E1", "outcome": "validated"},
        headers=own,
    )
    assert response.status_code == 403
    assert client.post("/candidates/cand-5/decisions", json={}).status_code == 401
    assert client.get("/candidates/cand-5/progress", headers=own).status_code == 200
    assert client.get("/candidates/cand-6/progress", headers=own).status_code == 403


VAE = {
    "comment": "Livret 2 et entretien : les six activités du bloc sont maîtrisées en poste.",
    "evidence_reference": "VAE-2026-014/livret-2",
}


def test_vae_jury_passes_a_whole_bloc_for_vae_candidates_only(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]]
) -> None:
    enrol("vae-1", path="vae")
    enrol("form-1")
    ok = client.post("/candidates/vae-1/vae-decisions", json={"bloc": "2", **VAE}, headers=JURY)
    assert ok.status_code == 201
    again = client.post("/candidates/vae-1/vae-decisions", json={"bloc": "2", **VAE}, headers=JURY)
    assert again.status_code == 200
    refused = client.post("/candidates/form-1/vae-decisions", json={"bloc": "2", **VAE}, headers=JURY)
    assert refused.status_code == 409
    assert outbox() == [ev.VAE_DECIDED, ev.BLOC_PASSED]


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("solution.py", "def clean(df):\n    return df\n")
    return buf.getvalue()


def test_a_submission_with_a_pack_asks_for_grading_and_serves_its_artifact(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]]
) -> None:
    enrol("cand-7")
    own = auth("candidate", subject="c7", candidate_id="cand-7")
    content = _zip()
    response = client.post(
        "/candidates/cand-7/submissions",
        data={"evaluation_id": "2.EV1", "pack_id": "bloc2-data-cleaning"},
        files={"file": ("solution.zip", content, "application/zip")},
        headers={**own, "Idempotency-Key": "k1"},
    )
    assert response.status_code == 201, response.text
    submission = response.json()
    assert submission["status"] == "grading"
    assert outbox() == [ev.SUBMISSION_RECEIVED, ev.GRADING_REQUESTED]
    again = client.post(
        "/candidates/cand-7/submissions",
        data={"evaluation_id": "2.EV1", "pack_id": "bloc2-data-cleaning"},
        files={"file": ("solution.zip", content, "application/zip")},
        headers={**own, "Idempotency-Key": "k1"},
    )
    assert again.status_code == 200 and again.json()["id"] == submission["id"]
    assert len(outbox()) == 2
    fetched = client.get(f"/submissions/{submission['id']}/artifact", headers=auth("service"))
    assert fetched.content == content
    assert (
        client.get(
            f"/submissions/{submission['id']}", headers=auth("candidate", candidate_id="x")
        ).status_code
        == 404  # another candidate's submission: not disclosed
    )


def test_a_submission_for_an_unknown_evaluation_is_refused(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]]
) -> None:
    enrol("cand-8")
    response = client.post(
        "/candidates/cand-8/submissions",
        data={"evaluation_id": "2.EV99"},
        files={"file": ("a.zip", b"x", "application/zip")},
        headers=auth("lms", client_id="moodle"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "evaluation_id"
    assert outbox() == []


def test_an_empty_idempotency_key_is_refused_naming_it_and_breaks_nothing(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    """Measured before: an empty Idempotency-Key hit the unique key (500), and every later submission of
    that candidate failed the same way."""
    enrol("cand-9")
    own = auth("candidate", subject="c9", candidate_id="cand-9")

    def hand_in(**headers: str) -> Any:
        return client.post(
            "/candidates/cand-9/submissions",
            data={"evaluation_id": "2.EV1"},
            files={"file": ("a.zip", _zip(), "application/zip")},
            headers={**own, **headers},
        )

    for key in ("", " ", "a b"):
        refused = hand_in(**{"Idempotency-Key": key})
        assert refused.status_code == 422, refused.text
        assert "idempotency-key" in refused.text.lower()
    assert hand_in().status_code == 201
    assert hand_in().status_code == 201  # without a key, each hand-in is a new submission


def test_a_submission_reads_back_with_the_same_utc_offset_it_was_answered_with(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    """Measured before: POST answered received_at with "Z", GET without any offset (SQLite stores none)."""
    enrol("cand-10")
    own = auth("candidate", subject="c10", candidate_id="cand-10")
    posted = client.post(
        "/candidates/cand-10/submissions",
        data={"evaluation_id": "2.EV1"},
        files={"file": ("a.zip", _zip(), "application/zip")},
        headers=own,
    ).json()
    got = client.get(f"/submissions/{posted['id']}", headers=own).json()
    listed = client.get("/candidates/cand-10/submissions", headers=own).json()
    assert posted["received_at"].endswith("Z")
    assert got["received_at"] == posted["received_at"] == listed[0]["received_at"]


def test_the_200_of_a_replayed_decision_vae_bloc_or_submission_is_documented(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    """Found by the fuzz suite (enrolment's twin): these routes answer 201, and 200 to the same request again,
    which OpenAPI did not list; the VAE bloc's answer had no schema at all."""
    enrol("vae-9", path="vae")
    assert decide(client, "vae-9", "2.A1.C1.E1").status_code == 201
    assert decide(client, "vae-9", "2.A1.C1.E1").status_code == 200
    client.post("/candidates/vae-9/vae-decisions", json={"bloc": "3", **VAE}, headers=JURY)
    replayed = client.post("/candidates/vae-9/vae-decisions", json={"bloc": "3", **VAE}, headers=JURY)
    assert replayed.status_code == 200 and set(replayed.json()) == {
        "candidate_id",
        "bloc",
        "via",
        "passed_at",
        "bloc_passed",
        "decision",
    }
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("decisions", "vae-decisions", "submissions"):
        responses = paths[f"/candidates/{{candidate_id}}/{path}"]["post"]["responses"]
        assert responses["200"]["content"] == responses["201"]["content"], path
        assert "$ref" in responses["200"]["content"]["application/json"]["schema"], path


def test_the_artifact_is_served_as_a_documented_media_type(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    """Found by the fuzz suite: GET /submissions/{id}/artifact answered application/zip; OpenAPI said JSON."""
    enrol("cand-9")
    own = auth("candidate", subject="c9", candidate_id="cand-9")
    files = {"file": ("solution.zip", _zip(), "application/zip")}
    submission = client.post(
        "/candidates/cand-9/submissions", data={"evaluation_id": "2.EV1"}, files=files, headers=own
    )
    served = client.get(f"/submissions/{submission.json()['id']}/artifact", headers=auth("service"))
    paths = client.get("/openapi.json").json()["paths"]
    documented = paths["/submissions/{submission_id}/artifact"]["get"]["responses"]["200"]["content"]
    assert served.headers["content-type"] == "application/zip" and "application/zip" in documented
