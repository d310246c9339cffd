"""The peer of ``bench/api.py``: the plainest stack that does the same database work as the three measured
routes, on the same PostgreSQL server, under the same server (uvicorn, one worker, sync routes in its
thread pool): FastAPI, Pydantic, SQLAlchemy Core, psycopg 3.

- ``POST /candidates``: a candidate row and an outbox row, in one transaction (enrolment's enrol);
- ``POST /candidates/{id}/decisions``: a decision row, a validation row and an outbox row, in one
  transaction (assessment's jury decision, short of the competency and bloc rules);
- ``GET /candidates/{id}/progress``: the candidate's validations, read (assessment's progress).

No token is checked and no contract validated: the ratio shows what certifia's checks and rules cost beside
plain database work. ``python bench/api_peer.py <database url> <port>`` runs it.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    insert,
    select,
)

metadata = MetaData()
candidates = Table(
    "peer_candidates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("lms_client", String(100), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("given_name", String(200), nullable=False),
    Column("family_name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("lms_client", "external_id"),
)
decisions = Table(
    "peer_decisions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("candidate_id", String(36), nullable=False, index=True),
    Column("criterion_id", String(40), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("comment", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)
validations = Table(
    "peer_validations",
    metadata,
    Column("candidate_id", String(36), primary_key=True),
    Column("criterion_id", String(40), primary_key=True),
    Column("decision_id", String(36), nullable=False),
)
outbox = Table(
    "peer_outbox",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("type", String(200), nullable=False),
    Column("subject", String(36), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class CandidateIn(BaseModel):
    external_id: str
    given_name: str
    family_name: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)


class DecisionIn(BaseModel):
    criterion_id: str
    outcome: str
    comment: str


def create_peer(database_url: str) -> FastAPI:
    engine = create_engine(database_url, pool_size=20, max_overflow=0)
    metadata.create_all(engine)
    app = FastAPI()

    def event(type_: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_id": str(uuid.uuid4()),
            "type": type_,
            "subject": subject,
            "payload": json.dumps(data),
            "created_at": datetime.now(UTC),
        }

    @app.post("/candidates", status_code=201)
    def enrol(body: CandidateIn) -> dict[str, Any]:
        row = {
            "id": str(uuid.uuid4()),
            "lms_client": "peer",
            "enrolled_at": datetime.now(UTC),
            **body.model_dump(),
        }
        with engine.begin() as conn:
            conn.execute(insert(candidates).values(row))
            conn.execute(
                insert(outbox).values(event("candidate.enrolled", row["id"], {**row, "enrolled_at": ""}))
            )
        return {**row, "enrolled_at": row["enrolled_at"].isoformat()}

    @app.post("/candidates/{candidate_id}/decisions", status_code=201)
    def decide(candidate_id: str, body: DecisionIn) -> dict[str, Any]:
        now = datetime.now(UTC)
        row = {"id": str(uuid.uuid4()), "candidate_id": candidate_id, "decided_at": now, **body.model_dump()}
        with engine.begin() as conn:
            if conn.execute(select(candidates.c.id).where(candidates.c.id == candidate_id)).first() is None:
                raise HTTPException(404, "unknown candidate")
            conn.execute(insert(decisions).values(row))
            conn.execute(
                insert(validations).values(
                    candidate_id=candidate_id, criterion_id=body.criterion_id, decision_id=row["id"]
                )
            )
            conn.execute(
                insert(outbox).values(event("criterion.validated", candidate_id, {**body.model_dump()}))
            )
        return {**row, "decided_at": now.isoformat()}

    @app.get("/candidates/{candidate_id}/progress")
    def progress(candidate_id: str) -> dict[str, Any]:
        with engine.connect() as conn:
            if conn.execute(select(candidates.c.id).where(candidates.c.id == candidate_id)).first() is None:
                raise HTTPException(404, "unknown candidate")
            rows = conn.execute(
                select(validations.c.criterion_id).where(validations.c.candidate_id == candidate_id)
            ).all()
        return {"candidate_id": candidate_id, "validated": sorted(r.criterion_id for r in rows)}

    return app


if __name__ == "__main__":
    url, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(create_peer(url), host="127.0.0.1", port=port, log_level="warning", access_log=False)
