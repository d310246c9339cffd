"""Schemathesis over every service's OpenAPI document (``make fuzz``): no 5xx, and every response as documented.

Each service's real app is built in-process on a fresh SQLite database (background workers off) and seeded
as its own tests seed it: a candidate enrolled by the LMS ``demo-lms`` (through the service's consumer
handler for candidate.enrolled; enrolment, which owns enrolment, through its own POST /candidates) and a few
of that candidate's resources, so that a generated path parameter is now and then a real id. Every case is
sent with one of several callers' tokens (admin, the owning LMS, another LMS, the candidate, none, or what
Schemathesis generated itself). The checks: no 5xx, the status code documented, the content type
documented, the body valid against the documented schema (problem+json included).

Bounded and reproducible: ``FUZZ_EXAMPLES`` generated cases per operation (30 unless set; valid and invalid
input both), after Schemathesis's coverage phase (boundary values, missing parameters, unexpected methods;
``FUZZ_COVERAGE=0`` skips it); derandomized and without an example database, so every run sends the same
cases (the caller of each case is drawn from the case itself). ``FUZZ_EXAMPLES=300 make fuzz`` for a long run.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent
from certifia_shared.testing import auth, enrolled_event

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
SEED = 20261129
OWNER_LMS = "demo-lms"
OTHER_LMS = "lms-other"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "mode": "all", "database": "none"},
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": os.environ.get("FUZZ_COVERAGE", "1") == "1"},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
}
_workdir = tempfile.TemporaryDirectory(prefix="certifia-fuzz-")
WORK = Path(_workdir.name)


@dataclass
class Seeded:
    """A service's app and the real ids it holds: each set of path parameters is put in a generated case
    (where the operation has all of them) about half of the time."""

    name: str
    app: FastAPI
    candidate_id: str
    real: list[dict[str, str]] = field(default_factory=list)


def callers(candidate_id: str) -> dict[str, dict[str, str] | None]:
    """Authorization headers to send (``{}``: none; ``None``: whatever Schemathesis generated)."""
    return {
        "admin": auth("admin", subject="admin-fuzz"),
        "owner lms": auth("lms", subject=f"{OWNER_LMS}-sa", client_id=OWNER_LMS),
        "other lms": auth("lms", subject=f"{OTHER_LMS}-sa", client_id=OTHER_LMS),
        "the candidate": auth("candidate", subject="account-fuzz", candidate_id=candidate_id),
        "nobody": {},
        "generated": None,
    }


def _apply(app: FastAPI, *events: CloudEvent) -> None:
    """Events through the service's own consumer handlers, one unit of work each (what the consumer does)."""
    ctx = app.state.ctx
    handlers = ctx.runtime.consumer.handlers
    for event in events:
        with ctx.uow() as uow:
            handlers[event.type](event, uow)
            uow.commit()


def _ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("solution.py", "print(1)\n")
    return buffer.getvalue()


# -- the services, built and seeded ------------------------------------------------------------------------
def enrolment() -> Seeded:
    from certifia_enrolment.bootstrap import create_application
    from certifia_enrolment.config import Settings

    app = create_application(
        Settings(database_url=f"sqlite:///{WORK / 'enrolment.db'}", run_background_workers=False)
    )
    client, lms = TestClient(app), auth("lms", subject=f"{OWNER_LMS}-sa", client_id=OWNER_LMS)
    body = {
        "external_id": "lms-fuzz-1",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.org",
    }
    candidate = _ok(client.post("/candidates", json=body, headers=lms))
    subscription = _ok(client.post("/webhooks", json={"url": "https://lms.example.org/hooks"}, headers=lms))
    chosen = {"candidate_id": candidate["id"], "option": "5A", "chosen_at": "2026-11-29T10:00:00+00:00"}
    _apply(
        app,
        CloudEvent(type=ev.OPTION_CHOSEN, source="/certifia/enrolment", subject=candidate["id"], data=chosen),
    )
    deliveries = client.get(f"/webhooks/{subscription['id']}/deliveries", headers=lms)
    assert deliveries.status_code == 200, deliveries.text
    [delivery] = deliveries.json()
    return Seeded(
        "enrolment",
        app,
        candidate["id"],
        [
            {"subscription_id": subscription["id"]},
            {"subscription_id": subscription["id"], "delivery_id": delivery["id"]},
        ],
    )


def assessment() -> Seeded:
    from certifia_assessment.bootstrap import create_application
    from certifia_assessment.config import Settings

    settings = Settings(
        database_url=f"sqlite:///{WORK / 'assessment.db'}",
        run_background_workers=False,
        artifacts_dir=str(WORK / "artifacts"),
        public_base_url="http://assessment.test",
    )
    app, candidate_id = create_application(settings), "cand-fuzz-assessment"
    _apply(app, enrolled_event(candidate_id, lms_client=OWNER_LMS))
    client = TestClient(app)
    own = auth("candidate", subject="account-fuzz", candidate_id=candidate_id)
    decision = {"criterion_id": "2.A1.C1.E1", "outcome": "rejected", "comment": "incomplet"}
    decided = _ok(client.post(f"/candidates/{candidate_id}/decisions", headers=auth("jury"), json=decision))
    grounds = "Le jeu de test caché contenait des doublons interdits."
    appeal = _ok(
        client.post(
            f"/candidates/{candidate_id}/appeals",
            headers=own,
            json={"decision_id": decided["id"], "grounds": grounds},
        )
    )
    submission = _ok(
        client.post(
            f"/candidates/{candidate_id}/submissions",
            data={"evaluation_id": "2.EV1"},
            files={"file": ("solution.zip", _zip(), "application/zip")},
            headers=own,
        )
    )
    return Seeded(
        "assessment",
        app,
        candidate_id,
        [
            {"submission_id": submission["id"]},
            {"appeal_id": appeal["id"]},
            {"code": "2"},
            {"kind": "criteria", "global_id": "2.A1.C1.E1"},
            {"kind": "competencies", "global_id": "5B.A3.C1"},
        ],
    )


def grading() -> Seeded:
    from certifia_grading.bootstrap import create_application
    from certifia_grading.config import Settings

    app = create_application(
        Settings(database_url=f"sqlite:///{WORK / 'grading.db'}", run_background_workers=False)
    )
    candidate_id = "cand-fuzz-grading"
    requested = CloudEvent(
        type=ev.GRADING_REQUESTED,
        source="/certifia/assessment",
        subject=candidate_id,
        data={
            "submission_id": "sub-fuzz-1",
            "candidate_id": candidate_id,
            "evaluation_id": "2.EV1",
            "pack_id": "b2_data_cleaning",
            "criteria": ["2.A1.C1.E1"],
            "artifact": {"url": "http://127.0.0.1:1/x", "sha256": "a" * 64, "size_bytes": 3},
            "requested_at": "2026-11-25T08:00:00+00:00",
        },
    )
    _apply(app, enrolled_event(candidate_id, lms_client=OWNER_LMS), requested)
    return Seeded(
        "grading", app, candidate_id, [{"submission_id": "sub-fuzz-1"}, {"pack_id": "b2_data_cleaning"}]
    )


def thesis() -> Seeded:
    from certifia_thesis.bootstrap import create_application
    from certifia_thesis.config import Settings

    settings = Settings(
        database_url=f"sqlite:///{WORK / 'thesis.db'}",
        deposits_dir=str(WORK / "deposits"),
        run_background_workers=False,
    )
    app, candidate_id = create_application(settings), "cand-fuzz-thesis"
    _apply(app, enrolled_event(candidate_id, lms_client=OWNER_LMS))
    client, officer = TestClient(app), auth("officer")
    mission = {"company": "Acme", "start_date": "2026-01-01", "end_date": "2026-06-30"}
    mission_id = _ok(client.post(f"/candidates/{candidate_id}/missions", json=mission, headers=officer))["id"]
    abstract = (
        "Une thèse professionnelle sur la détection d'anomalies dans des séries temporelles industrielles."
    )
    _ok(
        client.post(
            f"/candidates/{candidate_id}/thesis/deposit",
            data={"title": "Détection d'anomalies", "abstract": abstract, "mission_id": mission_id},
            files={"file": ("these.pdf", b"%PDF-1.4\n% thesis\n%%EOF\n", "application/pdf")},
            headers=officer,
        )
    )
    return Seeded("thesis", app, candidate_id)


def certification() -> Seeded:
    from certifia_certification.bootstrap import create_application
    from certifia_certification.config import Settings

    key: dict[str, Any] = {"CERTIFIA_SIGNING_KEY": base64.b64encode(bytes(range(32))).decode()}  # a fixed key
    settings = Settings(
        database_url=f"sqlite:///{WORK / 'certification.db'}",
        run_background_workers=False,
        public_base_url="https://certifia.example",
        **key,
    )
    app, candidate_id = create_application(settings), "cand-fuzz-certification"

    def event(type: str, source: str, **data: Any) -> CloudEvent:
        return CloudEvent(
            type=type, source=source, subject=candidate_id, data={"candidate_id": candidate_id, **data}
        )

    passed = {"via": "assessment", "passed_at": "2026-06-30T10:00:00+00:00", "referential_version": "1.0.0"}
    _apply(
        app,
        enrolled_event(candidate_id, lms_client=OWNER_LMS),
        event(ev.OPTION_CHOSEN, "/certifia/enrolment", option="5B", chosen_at="2026-02-01T09:00:00+00:00"),
        *(
            event(ev.BLOC_PASSED, "/certifia/assessment", bloc=b, competencies=[f"{b}.A1.C1"], **passed)
            for b in ("1", "2", "3", "4", "5B")
        ),
        event(
            ev.THESIS_DEFENDED,
            "/certifia/thesis",
            defence_id="def-1",
            mission_id="mission-1",
            outcome="passed",
            grade=15.5,
            jury=["jury-1", "jury-2"],
            defended_at="2026-06-15T14:00:00+00:00",
        ),
    )
    diploma = _ok(TestClient(app).get(f"/candidates/{candidate_id}/diploma", headers=auth("admin")), 200)
    status = diploma["credential"]["credentialStatus"]  # [revocation, suspension] (one entry before)
    list_url = (status[0] if isinstance(status, list) else status)["statusListCredential"]
    return Seeded(
        "certification",
        app,
        candidate_id,
        [{"diploma_id": diploma["diploma_id"]}, {"list_id": list_url.rstrip("/").rsplit("/", 1)[-1]}],
    )


SERVICES: dict[str, Callable[[], Seeded]] = {
    "enrolment": enrolment,
    "assessment": assessment,
    "grading": grading,
    "thesis": thesis,
    "certification": certification,
}


# -- the schemas, with their hooks ------------------------------------------------------------------------
SENT: Counter[tuple[str, str]] = Counter()  # (service, status class) -> responses
STARTED = time.monotonic()


TOKENS: dict[int, tuple[list[dict[str, str] | None], set[str]]] = {}
"""id(app) -> the Authorization headers to send, and the real ids it holds."""


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """One caller's token (or none, or what was generated) in Authorization, chosen from the case's own data:
    every phase gets every caller, and a case replayed (shrinking, reporting) keeps its caller. (A global
    hook: Schemathesis has no per-schema before_call; the app the case goes to says which callers.)"""
    tokens, real = TOKENS.get(id(case.operation.app), ([], set()))
    token = tokens[_stable_index(case, len(tokens), real)] if tokens else None
    if token is None:
        return
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.headers = {**headers, **token}


def _stable_index(case: Any, n: int, real: set[str]) -> int:
    """An index in ``range(n)`` that depends only on what the case sends, the same in every run: no hash(),
    and a real id (a uuid the service drew) counts as "real"."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    path = {
        k: "real" if isinstance(v, str) and v in real else v for k, v in (case.path_parameters or {}).items()
    }
    sent = [case.method, path, case.query, headers, case.body]
    seen = json.dumps(sent, sort_keys=True, default=_plain).encode()
    return int.from_bytes(hashlib.sha256(seen).digest()[:4], "big") % n


def _plain(value: Any) -> str:
    return value.hex() if isinstance(value, bytes | bytearray) else type(value).__name__


def schema_of(seeded: Seeded) -> Any:
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", seeded.app, config=schemathesis.Config.from_dict(CONFIG)
    )
    real = [{"candidate_id": seeded.candidate_id}, *seeded.real]
    TOKENS[id(seeded.app)] = (
        list(callers(seeded.candidate_id).values()),
        {v for ids in real for v in ids.values()},
    )

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        """Now and then a real id in place of a generated one (each set of real ids the operation names)."""
        if not path_parameters:
            return st.just(path_parameters)
        fits = [ids for ids in real if set(ids) <= set(path_parameters)]

        def put(chosen: tuple[bool, ...]) -> dict[str, Any]:
            out = dict(path_parameters)
            for ids, use in zip(fits, chosen, strict=True):
                if use:
                    out.update(ids)
            return out

        return st.tuples(*(st.booleans() for _ in fits)).map(put)

    @schema.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        SENT[(seeded.name, f"{response.status_code // 100}xx")] += 1

    return schema


def summary() -> list[str]:
    """What was sent, for the end of the run (fuzz/conftest.py prints it)."""
    lines = [
        f"fuzz: {sum(SENT.values())} requests in {time.monotonic() - STARTED:.0f} s, {EXAMPLES} examples per operation"
    ]
    for name in SERVICES:
        counts = {status: n for (service, status), n in sorted(SENT.items()) if service == name}
        lines.append(f"  {name}: {sum(counts.values())} {counts}")
    return lines


SCHEMAS = {name: schema_of(build()) for name, build in SERVICES.items()}


def answers_as_documented(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


@SCHEMAS["enrolment"].parametrize()
def test_enrolment(case: Any) -> None:
    answers_as_documented(case)


@SCHEMAS["assessment"].parametrize()
def test_assessment(case: Any) -> None:
    answers_as_documented(case)


@SCHEMAS["grading"].parametrize()
def test_grading(case: Any) -> None:
    answers_as_documented(case)


@SCHEMAS["thesis"].parametrize()
def test_thesis(case: Any) -> None:
    answers_as_documented(case)


@SCHEMAS["certification"].parametrize()
def test_certification(case: Any) -> None:
    answers_as_documented(case)
