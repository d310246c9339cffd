"""bootstrap() over the fake unit of work (STYLE.md: bootstrap takes the unit of work; tests pass a fake):
the context it wires makes no database and starts no worker, and its ``uow()`` is the fake."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from certifia_certification.bootstrap import bootstrap
from certifia_certification.config import Settings
from certifia_certification.service_layer.handlers import event_handlers
from certifia_shared import event_types as ev

from .fakes import FakeCertificationUnitOfWork


def test_bootstrap_over_the_fake_unit_of_work_runs_a_use_case_without_a_database(
    tmp_path: Path, events: Any
) -> None:
    database = tmp_path / "certification.db"
    fake = FakeCertificationUnitOfWork()
    settings = Settings(
        database_url=f"sqlite:///{database}",
        public_base_url="https://certifia.example",
        CERTIFIA_RNCP_CODE="RNCP00000",
        CERTIFIA_CERTIFIER_SIRET="73282932000074",
        CERTIFIA_NSF_CODE="326",
    )
    ctx = bootstrap(settings, uow_factory=lambda: fake)
    assert ctx.uow() is fake and ctx.db_engine is None
    key = fake.keys.generated()  # bootstrap generated the signing key, and kept it in the fake
    assert key is not None and ctx.issuance.keys.active().kid == key.kid

    handlers = event_handlers(ctx.issuance)
    for event in [events.enrolled(), events.bloc_passed("1")]:
        with ctx.uow() as uow:  # as the consumer applies them
            handlers[event.type](event, uow)
            uow.commit()
    [issued] = fake.events(ev.BLOC_CERTIFICATE_ISSUED)
    assert issued.subject == events.candidate_id and issued.data["bloc"] == "1"
    progress = fake.progress.get(events.candidate_id)
    assert progress is not None and list(progress.certificates) == ["1"]

    running = set(threading.enumerate())
    ctx.runtime.start()  # no relay and no consumer over a fake
    assert set(threading.enumerate()) == running and not database.exists()
    ctx.runtime.stop()
