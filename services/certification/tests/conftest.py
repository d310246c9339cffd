"""Fixtures for the certification tests: settings, the wired service, and the events it consumes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certifia_certification.bootstrap import Wiring, bootstrap
from certifia_certification.config import Settings
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import CloudEvent
from certifia_shared.testing import TEST_SECRET

NOW = "2026-06-30T10:00:00+00:00"
REFERENTIAL_VERSION = "1.0.0"


def make_settings(database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "CERTIFIA_AUTH_SECRET": TEST_SECRET.get_secret_value(),
        "database_url": database_url,
        "run_background_workers": False,
        "public_base_url": "https://certifia.example",
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

    def enrolled(self, path: str = "formation") -> CloudEvent:
        data = {
            "candidate_id": self.candidate_id,
            "external_id": f"ext-{self.candidate_id[:8]}",
            "lms_client": "moodle",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": "ada@example.org",
            "path": path,
            "cohort": "2026",
            "enrolled_at": "2026-01-05T09:00:00+00:00",
        }
        return self._event(ev.CANDIDATE_ENROLLED, "/certifia/enrolment", data)

    def option_chosen(self, option: str, chosen_at: str = "2026-02-01T09:00:00+00:00") -> CloudEvent:
        data = {"candidate_id": self.candidate_id, "option": option, "chosen_at": chosen_at}
        return self._event(ev.OPTION_CHOSEN, "/certifia/enrolment", data)

    def bloc_passed(self, bloc: str, via: str = "assessment") -> CloudEvent:
        data = {
            "candidate_id": self.candidate_id,
            "bloc": bloc,
            "competencies": [f"{bloc}.A1.C1"],
            "via": via,
            "passed_at": NOW,
            "referential_version": REFERENTIAL_VERSION,
        }
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

    def full_candidate(self, option: str = "5B") -> list[CloudEvent]:
        return [
            self.enrolled(),
            self.option_chosen(option),
            *(self.bloc_passed(b) for b in ("1", "2", "3", "4", option)),
            self.thesis_defended("passed"),
        ]


def apply(wiring: Wiring, *events: CloudEvent) -> list[CloudEvent]:
    """Apply events through the service's handlers, each in its own unit of work; returns what was emitted."""
    handlers = wiring.ctx.runtime.consumer.handlers if wiring.ctx.runtime.consumer else {}
    emitted: list[CloudEvent] = []
    for event in events:
        uow: UnitOfWork
        with wiring.ctx.uow() as uow:
            handlers[event.type](event, uow)
            uow.commit()
            emitted += uow.emitted
    return emitted


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'certification.db'}"


@pytest.fixture
def wiring(sqlite_url: str) -> Iterator[Wiring]:
    w = bootstrap(make_settings(sqlite_url))
    yield w
    w.ctx.engine.dispose()


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
