"""The verification page and the PDF on the real PostgreSQL test database (no Kafka: events are applied through
the handlers, as the consumer applies them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certifia_certification.bootstrap import create_application
from certifia_certification.domain.diploma_view import french_date
from certifia_shared import event_types as ev
from certifia_shared.testing import auth, fresh_pg_url

pytestmark = pytest.mark.integration

OFFICER = auth("officer", subject="officer-1")


@pytest.fixture
def pg_client(settings_for: Any) -> Iterator[TestClient]:
    with TestClient(create_application(settings_for(fresh_pg_url("certification")))) as client:
        yield client


def test_page_and_pdf_follow_a_revocation(
    pg_client: TestClient, make_events: Any, apply_events: Any, pdf_text: Any
) -> None:
    app: Any = pg_client.app
    candidate = make_events()
    emitted = apply_events(app.state.ctx, *candidate.full_candidate())
    assert emitted[-1].type == ev.DIPLOMA_ISSUED
    diploma_id = emitted[-1].data["diploma_id"]
    holder = auth("candidate", candidate_id=candidate.candidate_id)

    page = pg_client.get(f"/diplomas/{diploma_id}/verify")
    assert page.status_code == 200 and "<h1>Diplôme authentique</h1>" in page.text
    pdf = pg_client.get(f"/diplomas/{diploma_id}/pdf", headers=holder)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert f"https://certifia.example/diplomas/{diploma_id}/verify" in pdf_text(pdf.content)
    assert pg_client.get(f"/diplomas/{diploma_id}/pdf", headers=holder).content == pdf.content

    r = pg_client.post(f"/diplomas/{diploma_id}/revocation", json={"reason": "fraude"}, headers=OFFICER)
    assert r.status_code == 200
    day = french_date(datetime.fromisoformat(r.json()["revoked_at"]).date())
    page = pg_client.get(f"/diplomas/{diploma_id}/verify")
    [verdict] = re.findall(r"<h1>(.*?)</h1>", page.text)
    assert verdict == f"Diplôme révoqué le {day} : fraude"
    stamped = pdf_text(pg_client.get(f"/diplomas/{diploma_id}/pdf", headers=holder).content)
    assert "RÉVOQUÉ" in stamped and f"le {day}" in stamped
    assert pg_client.get("/diplomas/nope/verify").status_code == 404
