"""Fixtures for the certification tests: settings, the wired service, and the events it consumes."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import insert

from certifia_certification.adapters.orm import candidates, diplomas
from certifia_certification.bootstrap import MIGRATIONS, CertificationContext, bootstrap, create_application
from certifia_certification.config import Settings
from certifia_certification.domain.credential import DiplomaFacts, diploma_credential, sign
from certifia_certification.domain.signing import SigningKey
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.db import UnitOfWork, make_engine
from certifia_shared.envelope import CloudEvent

NOW = "2026-06-30T10:00:00+00:00"
REFERENTIAL_VERSION = "1.0.0"
BASE_URL = "https://certifia.example"
DID = "did:web:certifia.example"
RNCP_CODE = "RNCP00000"
SIRET = "73282932000074"
CREDENTIAL_DATA = {
    "CERTIFIA_RNCP_CODE": RNCP_CODE,
    "CERTIFIA_CERTIFIER_SIRET": SIRET,
    "CERTIFIA_NSF_CODE": "326",
}
"""What the tests' issuer states beyond the defaults (an RNCP code, a SIRET, an NSF code): so every credential
the tests issue, and Digital Bazaar's verifier checks, carries the whole of domain/achievement.py."""


def make_settings(database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "run_background_workers": False,
        "public_base_url": BASE_URL,
        **CREDENTIAL_DATA,
    }
    values.update(extra)
    return Settings(**values)


class Events:
    """Contract-valid CloudEvents of one candidate, as the other services publish them."""

    def __init__(self, candidate_id: str | None = None) -> None:
        self.candidate_id = candidate_id or str(uuid.uuid4())

    def _event(self, type: str, source: str, data: dict[str, Any]) -> CloudEvent:
        contract(type).validate(data)  # writers are strict: the tests send only what the contract allows
        return CloudEvent(type=type, source=source, subject=self.candidate_id, data=data)

    def enrolled(
        self, path: str = "formation", *, given_name: str = "Ada", family_name: str = "Lovelace"
    ) -> CloudEvent:
        data = {
            "candidate_id": self.candidate_id,
            "external_id": f"ext-{self.candidate_id[:8]}",
            "lms_client": "moodle",
            "given_name": given_name,
            "family_name": family_name,
            "email": "ada@example.org",
            "path": path,
            "cohort": "2026",
            "enrolled_at": "2026-01-05T09:00:00+00:00",
        }
        return self._event(ev.CANDIDATE_ENROLLED, "/certifia/enrolment", data)

    def option_chosen(self, option: str, chosen_at: str = "2026-02-01T09:00:00+00:00") -> CloudEvent:
        data = {"candidate_id": self.candidate_id, "option": option, "chosen_at": chosen_at}
        return self._event(ev.OPTION_CHOSEN, "/certifia/enrolment", data)

    def bloc_passed(
        self, bloc: str, via: str = "assessment", *, passed_at: str = NOW, earned_at: str | None = None
    ) -> CloudEvent:
        data = {
            "candidate_id": self.candidate_id,
            "bloc": bloc,
            "competencies": [f"{bloc}.A1.C1"],
            "via": via,
            "passed_at": passed_at,
            "referential_version": REFERENTIAL_VERSION,
        }
        if earned_at is not None:
            data["earned_at"] = earned_at
        return self._event(ev.BLOC_PASSED, "/certifia/assessment", data)

    def thesis_defended(self, outcome: str = "passed", defence_id: str = "def-1") -> CloudEvent:
        data = {
            "defence_id": defence_id,
            "candidate_id": self.candidate_id,
            "mission_id": "mission-1",
            "outcome": outcome,
            "grade": 15.5 if outcome == "passed" else 8.0,
            "jury": ["jury-1", "jury-2"],
            "defended_at": "2026-06-15T14:00:00+00:00",
        }
        return self._event(ev.THESIS_DEFENDED, "/certifia/thesis", data)

    def withdrawn(self, withdrawn_at: str) -> CloudEvent:
        data = {
            "candidate_id": self.candidate_id,
            "withdrawn_at": withdrawn_at,
            "reason": "Réorientation.",
            "withdrawn_by_role": "candidate",
        }
        return self._event(ev.CANDIDATE_WITHDRAWN, "/certifia/enrolment", data)

    def full_candidate(self, option: str = "5B", **names: str) -> list[CloudEvent]:
        """Every event that earns the diploma; ``names``: ``given_name``, ``family_name`` of the enrolment."""
        return [
            self.enrolled(**names),
            self.option_chosen(option),
            *(self.bloc_passed(b) for b in ("1", "2", "3", "4", option)),
            self.thesis_defended("passed"),
        ]


def apply(ctx: CertificationContext, *events: CloudEvent) -> list[CloudEvent]:
    """Apply events through the service's handlers, each in its own unit of work; returns what was emitted."""
    handlers = ctx.runtime.consumer.handlers if ctx.runtime.consumer else {}
    emitted: list[CloudEvent] = []
    for event in events:
        uow: UnitOfWork
        with ctx.uow() as uow:
            handlers[event.type](event, uow)
            uow.commit()
            emitted += uow.emitted
    return emitted


def signing_key_setting(key: SigningKey) -> str:
    """``CERTIFIA_SIGNING_KEY`` for ``key``."""
    return base64.b64encode(key.private_key.private_bytes_raw()).decode()


def legacy_diploma(database_url: str, key: SigningKey) -> dict[str, Any]:
    """Bring an empty database to revision 0001 only (before revocation and status lists) and store one
    diploma there, signed with ``key`` (no credentialStatus: as diplomas were before status lists); returns
    the credential (its id is ``urn:uuid:<diploma id>``, its holder Ada Lovelace)."""
    issued = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    candidate_id, diploma_id = str(uuid.uuid4()), str(uuid.uuid4())
    facts = DiplomaFacts(
        diploma_id=diploma_id,
        candidate_id=candidate_id,
        given_name="Ada",
        family_name="Lovelace",
        title="Ingénieur en Intelligence Artificielle (MS)",
        criteria="blocs 1 à 4, une option, la thèse",
        referential_version=REFERENTIAL_VERSION,
        blocs=("1", "2", "3", "4", "5B"),
        issued_at=issued,
    )
    method = f"{DID}#{key.kid}"
    credential = sign(
        diploma_credential(facts, issuer_id=DID, base_url=BASE_URL),
        key,
        verification_method=method,
        created=issued,
    )
    engine = make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            insert(candidates).values(
                candidate_id=candidate_id,
                given_name="Ada",
                family_name="Lovelace",
                email="ada@example.org",
                path="formation",
                enrolled_at=issued,
                first_seen_at=issued,
                updated_at=issued,
            )
        )
        conn.execute(  # the columns of revision 0001 only
            insert(diplomas).values(
                diploma_id=diploma_id,
                candidate_id=candidate_id,
                path="formation",
                option="5B",
                blocs=json.dumps(list(facts.blocs)),
                thesis_defence_id="def-1",
                issued_at=issued,
                credential=json.dumps(credential, ensure_ascii=False),
            )
        )
    engine.dispose()
    return credential


def pdf_strings(pdf: bytes) -> list[str]:
    """The lines of text a PDF's pages show, as pypdf extracts them (Unicode, through the fonts' ToUnicode)."""
    return [line for page in PdfReader(io.BytesIO(pdf)).pages for line in page.extract_text().splitlines()]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'certification.db'}"


@pytest.fixture
def ctx(sqlite_url: str) -> Iterator[CertificationContext]:
    """The service wired on SQLite (``bootstrap``), background workers off."""
    wired = bootstrap(make_settings(sqlite_url))
    yield wired
    wired.db_engine.dispose()


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    """The REST API on SQLite, background workers off (events applied with ``apply_events``)."""
    with TestClient(create_application(make_settings(sqlite_url))) as c:
        yield c


@pytest.fixture
def app_ctx(client: TestClient) -> CertificationContext:
    """The context behind ``client`` (its database, its issuance)."""
    app: Any = client.app
    ctx: CertificationContext = app.state.ctx
    return ctx


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def make_events() -> type[Events]:
    return Events


@pytest.fixture
def apply_events() -> Any:
    return apply


@pytest.fixture
def settings_for() -> Any:
    return make_settings


@pytest.fixture
def make_legacy_diploma() -> Any:
    return legacy_diploma


@pytest.fixture
def key_setting() -> Any:
    return signing_key_setting


@pytest.fixture
def pdf_text() -> Any:
    """The text of a PDF, its shown strings one per line (``pdf_strings``)."""
    return lambda pdf: "\n".join(pdf_strings(pdf))
