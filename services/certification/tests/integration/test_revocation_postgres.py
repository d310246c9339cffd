"""Status list entries and revocations under concurrency, and the 0002 migration, on the real PostgreSQL test
database (no Kafka: handlers and use cases are called directly, as the consumer and the API call them)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from certifia_certification.adapters.orm import bloc_certificates, diplomas, status_lists
from certifia_certification.bootstrap import CertificationContext, bootstrap
from certifia_certification.domain.signing import SigningKey
from certifia_certification.service_layer.revocation import RevokeDiploma, revoke_diploma
from certifia_certification.service_layer.verification import check_credential
from certifia_shared import event_types as ev
from certifia_shared.db import Conflict
from certifia_shared.envelope import CloudEvent
from certifia_shared.testing import fresh_pg_url, outbox_events

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_ctx(settings_for: Callable[..., Any]) -> Iterator[CertificationContext]:
    ctx = bootstrap(settings_for(fresh_pg_url("certification")))
    yield ctx
    ctx.db_engine.dispose()


def apply_with_retries(
    ctx: CertificationContext, events: list[CloudEvent], errors: list[BaseException]
) -> None:
    assert ctx.runtime.consumer is not None
    handlers = ctx.runtime.consumer.handlers
    for event in events:
        for _attempt in range(5):  # as the consumer retries a failed record
            try:
                with ctx.uow() as uow:
                    handlers[event.type](event, uow)
                    uow.commit()
                break
            except (
                Conflict,
                OperationalError,
            ) as exc:  # a unique constraint lost: the unit of work says Conflict
                errors.append(exc)
        else:
            raise AssertionError(f"{event.type} never applied")


def warm_pool(ctx: CertificationContext, n: int) -> None:
    """Open ``n`` pooled connections beforehand, so that jobs started at once do not queue on connecting."""
    connections = [ctx.db_engine.connect() for _ in range(n)]
    for c in connections:
        c.close()


def run_at_once(jobs: list[Callable[[], None]]) -> None:
    start = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        start.wait()
        try:
            job()
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures


def test_diplomas_issued_at_once_get_distinct_entries(pg_ctx: CertificationContext, make_events: Any) -> None:
    errors: list[BaseException] = []
    apply_with_retries(pg_ctx, make_events().full_candidate(), errors)  # opens the list
    candidates = [make_events() for _ in range(8)]
    warm_pool(pg_ctx, 5)
    run_at_once([partial(apply_with_retries, pg_ctx, c.full_candidate(), errors) for c in candidates])
    with pg_ctx.uow() as uow:
        entries = uow.session.execute(select(diplomas.c.status_list_id, diplomas.c.status_list_index)).all()
        blocs = uow.session.execute(
            select(bloc_certificates.c.status_list_id, bloc_certificates.c.status_list_index)
        ).all()
        lists = uow.session.execute(
            select(status_lists.c.list_id, status_lists.c.allocated).where(
                status_lists.c.purpose == "revocation"
            )
        ).all()
        suspension = uow.session.execute(
            select(status_lists.c.allocated).where(status_lists.c.purpose == "suspension")
        ).all()
    assert len(entries) == 9 and len(blocs) == 9 * 5
    # diplomas and bloc certificates share the revocation lists: no position is handed out twice across both
    assert len(set(entries) | set(blocs)) == 9 * 6
    assert [tuple(r) for r in lists] == [(entries[0][0], 54)], "one list, every position handed out once"
    # and each credential has its place in the one suspension list too, none twice
    assert [tuple(r) for r in suspension] == [(54,)]


def test_officers_revoking_at_once_record_one_revocation(
    pg_ctx: CertificationContext, make_events: Any
) -> None:
    apply_with_retries(pg_ctx, make_events().full_candidate(), [])
    [issued] = outbox_events(pg_ctx, ev.DIPLOMA_ISSUED)
    diploma_id = issued.data["diploma_id"]
    results: list[tuple[str, bool]] = []

    def officer(n: int) -> Callable[[], None]:
        def job() -> None:
            cmd = RevokeDiploma(
                diploma_id, f"reason {n}", revoked_by=f"officer-{n}", revoked_by_role="officer"
            )
            diploma, new = revoke_diploma(cmd, uow=pg_ctx.uow())
            assert diploma.revocation is not None
            results.append((diploma.revocation.reason, new))

        return job

    warm_pool(pg_ctx, 5)
    run_at_once([officer(n) for n in range(5)])
    assert sum(new for _, new in results) == 1
    assert len({reason for reason, _ in results}) == 1, "every caller sees the revocation in force"
    [event] = outbox_events(pg_ctx, ev.DIPLOMA_REVOKED)
    assert (event.data["reason"], True) in results


def test_migration_keeps_diplomas_issued_before_status_lists(
    settings_for: Callable[..., Any], make_legacy_diploma: Any, key_setting: Any
) -> None:
    url = fresh_pg_url("certification")
    key = SigningKey.generate()
    credential = make_legacy_diploma(url, key)  # revision 0001
    diploma_id = credential["id"].removeprefix("urn:uuid:")
    ctx = bootstrap(settings_for(url, CERTIFIA_SIGNING_KEY=key_setting(key)))  # upgrades to head
    try:
        with ctx.uow() as uow:
            diploma = uow.progress.diploma(diploma_id)
        assert diploma is not None and diploma.credential == credential
        assert diploma.status is None and diploma.revocation is None

        def check() -> Any:
            return check_credential(credential, uow=ctx.uow(), issuance=ctx.issuance, diploma_id=diploma_id)

        assert check().valid
        cmd = RevokeDiploma(diploma_id, "fraude", revoked_by="officer-1", revoked_by_role="officer")
        assert revoke_diploma(cmd, uow=ctx.uow())[1]
        result = check()
        assert not result.valid and result.reason.endswith(": fraude")
    finally:
        ctx.db_engine.dispose()
