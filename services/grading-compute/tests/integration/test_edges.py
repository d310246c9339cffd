"""grading-compute's OpenAPI document (certifia_shared.web): every route but health, readiness and metrics
needs a bearer token (the packs too: they are read with READERS), and says which problems it answers. It reads
no request body, so it has no text to clean (certifia_shared.hygiene) and no upload limit."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from certifia_grading.bootstrap import create_application
from certifia_grading.config import Settings
from certifia_shared.edge_testing import assert_documents_edges


def test_openapi_documents_the_bearer_scheme_and_the_problems(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'grading.db'}", run_background_workers=False)
    app = create_application(settings)
    with TestClient(app) as client:
        document = client.get("/openapi.json").json()
        assert client.get("/packs").status_code == 401
    app.state.ctx.db_engine.dispose()
    assert_documents_edges(
        document,
        private=[
            ("get", "/packs"),
            ("get", "/packs/{pack_id}"),
            ("get", "/submissions/{submission_id}/grading"),
        ],
        public=[("get", "/healthz"), ("get", "/readyz")],
    )
    assert not any("requestBody" in op for item in document["paths"].values() for op in item.values())
