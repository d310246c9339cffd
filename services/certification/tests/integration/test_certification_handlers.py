"""Handlers against a real SQLite database (no broker: workers off, handlers called through a uow)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from certifia_certification.adapters.orm import bloc_certificates, diplomas, status_lists
from certifia_certification.bootstrap import CertificationContext, bootstrap
from certifia_certification.domain.credential import verify
from certifia_certification.domain.signing import SigningKey
from certifia_certification.domain.status_list import LIST_SIZE
from certifia_shared import event_types as ev
from certifia_shared.envelope import utcnow


def count(ctx: CertificationContext, table: Any, candidate_id: str) -> int:
    with ctx.uow() as uow:
        return int(
            uow.session.execute(
                select(func.count()).select_from(table).where(table.c.candidate_id == candidate_id)
            ).scalar_one()
        )


def outbox_types(ctx: CertificationContext, candidate_id: str) -> list[str]:
    t = ctx.tables.outbox
    with ctx.uow() as uow:
        return list(
            uow.session.execute(select(t.c.type).where(t.c.key == candidate_id).order_by(t.c.seq)).scalars()
        )


def test_full_candidate_gets_certificates_then_one_diploma(
    ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    emitted = apply_events(ctx, *events.full_candidate())
    types = [e.type for e in emitted]
    assert types.count(ev.BLOC_CERTIFICATE_ISSUED) == 5
    assert types == [*[ev.BLOC_CERTIFICATE_ISSUED] * 5, ev.DIPLOMA_ISSUED]
    diploma = emitted[-1].data
    assert diploma["blocs"] == ["1", "2", "3", "4", "5B"] and diploma["option"] == "5B"
    assert diploma["path"] == "formation" and diploma["thesis_defence_id"] == "def-1"
    assert diploma["given_name"] == "Ada"
    assert diploma["verification_url"] == (
        f"https://certifia.example/diplomas/{diploma['diploma_id']}/verification"
    )


def test_handlers_applied_twice_give_one_diploma(
    ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    first = apply_events(ctx, *events.full_candidate())
    again = apply_events(ctx, *events.full_candidate())  # the same events, even under new ids
    assert again == []
    assert count(ctx, diplomas, events.candidate_id) == 1
    assert count(ctx, bloc_certificates, events.candidate_id) == 5
    assert outbox_types(ctx, events.candidate_id) == [e.type for e in first]


def test_events_in_any_order(ctx: CertificationContext, events: Any, apply_events: Any) -> None:
    enrolled, option, *blocs, thesis = events.full_candidate()
    emitted = apply_events(ctx, thesis, *reversed(blocs))  # assessment and thesis before enrolment
    assert [e.type for e in emitted] == [ev.BLOC_CERTIFICATE_ISSUED] * 5
    assert apply_events(ctx, option) == []  # still no enrolment: no holder name, no path
    emitted = apply_events(ctx, enrolled)
    assert [e.type for e in emitted] == [ev.DIPLOMA_ISSUED]


def test_no_diploma_without_option_or_with_failed_thesis(
    ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    apply_events(ctx, events.enrolled(), *(events.bloc_passed(b) for b in ("1", "2", "3", "4", "5A", "5B")))
    apply_events(ctx, events.thesis_defended("failed", defence_id="def-1"))
    assert count(ctx, diplomas, events.candidate_id) == 0
    apply_events(ctx, events.option_chosen("5A"))
    assert count(ctx, diplomas, events.candidate_id) == 0  # thesis failed
    emitted = apply_events(ctx, events.thesis_defended("passed", defence_id="def-2"))
    assert emitted[-1].type == ev.DIPLOMA_ISSUED and emitted[-1].data["blocs"] == ["1", "2", "3", "4", "5A"]
    assert count(ctx, bloc_certificates, events.candidate_id) == 6


def test_a_withdrawn_candidate_keeps_certificates_of_blocs_passed_before_and_gets_no_diploma(
    ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    enrolled, option, *blocs, thesis = events.full_candidate()  # blocs passed on 2026-06-30
    apply_events(ctx, enrolled, option, events.withdrawn("2026-07-01T09:00:00+00:00"))
    emitted = apply_events(ctx, *blocs, thesis)  # the passes reach certification after the withdrawal
    assert [e.type for e in emitted] == [ev.BLOC_CERTIFICATE_ISSUED] * 5  # acquired before leaving
    assert count(ctx, diplomas, events.candidate_id) == 0
    with ctx.uow() as uow:
        progress = uow.progress.get(events.candidate_id)
    assert progress is not None and progress.withdrawn_at is not None
    assert apply_events(ctx, events.withdrawn("2026-08-01T09:00:00+00:00")) == []


def test_blocs_passed_after_the_withdrawal_earn_nothing(
    ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    emitted = apply_events(ctx, events.withdrawn("2026-06-01T09:00:00+00:00"), *events.full_candidate())
    assert emitted == []
    assert count(ctx, bloc_certificates, events.candidate_id) == 0


def test_vae_candidate_gets_the_diploma_without_thesis(
    ctx: CertificationContext, make_events: Any, apply_events: Any
) -> None:
    vae = make_events()
    blocs = (vae.bloc_passed(b, via="vae") for b in ("1", "2", "3", "4", "5A"))
    emitted = apply_events(ctx, vae.enrolled(path="vae"), vae.option_chosen("5A"), *blocs)
    assert emitted[-1].type == ev.DIPLOMA_ISSUED
    assert emitted[-1].data["path"] == "vae" and emitted[-1].data["thesis_defence_id"] is None


def test_the_database_refuses_a_second_diploma(
    ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    apply_events(ctx, *events.full_candidate())
    with ctx.uow() as uow, pytest.raises(IntegrityError):
        uow.session.execute(
            insert(diplomas).values(
                diploma_id="another",
                candidate_id=events.candidate_id,
                path="formation",
                blocs="[]",
                issued_at=utcnow(),
                credential="{}",
            )
        )
        uow.commit()


def test_stored_credential_verifies_with_the_stored_key(
    ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    apply_events(ctx, *events.full_candidate())
    with ctx.uow() as uow:
        progress = uow.progress.get(events.candidate_id)
    assert progress is not None and progress.diploma is not None
    key = ctx.issuance.keys.active()
    credential = progress.diploma.credential
    assert credential["proof"]["verificationMethod"].endswith(f"#{key.kid}")
    assert verify(credential, {f"{ctx.issuance.did}#{key.kid}": key.public_key}.get).valid
    assert json.loads(json.dumps(credential)) == credential


def test_new_diplomas_carry_distinct_shuffled_status_list_entries(
    ctx: CertificationContext, make_events: Any, apply_events: Any
) -> None:
    diplomas_issued = []
    for _ in range(5):
        candidate = make_events()
        apply_events(ctx, *candidate.full_candidate())
        with ctx.uow() as uow:
            progress = uow.progress.get(candidate.candidate_id)
        assert progress is not None and progress.diploma is not None
        diplomas_issued.append(progress.diploma)
    entries = [d.status for d in diplomas_issued]
    assert all(e is not None for e in entries)
    assert len({e.list_id for e in entries if e}) == 1, "one list until it is full"
    indexes = [e.index for e in entries if e]
    assert len(set(indexes)) == 5 and all(0 <= i < LIST_SIZE for i in indexes)
    assert indexes != list(range(indexes[0], indexes[0] + 5)), "not handed out in sequence"
    for d in diplomas_issued:
        assert d.status is not None and d.suspension_status is not None
        status, suspension = d.credential["credentialStatus"]
        url = f"https://certifia.example/status-lists/{d.status.list_id}"
        assert status == {
            "id": f"{url}#{d.status.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(d.status.index),
            "statusListCredential": url,
        }
        suspension_url = f"https://certifia.example/status-lists/{d.suspension_status.list_id}"
        assert suspension_url != url, "a list of its own for suspension"
        assert suspension == {
            "id": f"{suspension_url}#{d.suspension_status.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "suspension",
            "statusListIndex": str(d.suspension_status.index),
            "statusListCredential": suspension_url,
        }
    key = ctx.issuance.keys.active()
    method = f"{ctx.issuance.did}#{key.kid}"
    assert verify(diplomas_issued[0].credential, {method: key.public_key}.get).valid
    with ctx.uow() as uow:
        allocated = uow.session.execute(
            select(status_lists.c.purpose, status_lists.c.allocated, status_lists.c.size).order_by(
                status_lists.c.purpose
            )
        ).all()
    per_candidate = 6  # 5 bloc certificates and the diploma, each with an entry in each list
    assert [tuple(r) for r in allocated] == [
        ("revocation", 5 * per_candidate, LIST_SIZE),
        ("suspension", 5 * per_candidate, LIST_SIZE),
    ]


def test_generated_key_survives_a_restart(sqlite_url: str, settings_for: Any) -> None:
    first = bootstrap(settings_for(sqlite_url)).issuance.keys.active().kid
    second = bootstrap(settings_for(sqlite_url)).issuance.keys.active().kid
    assert first == second


def test_configured_key_is_used_and_recorded(sqlite_url: str, settings_for: Any, key_setting: Any) -> None:
    raw = SigningKey.generate()
    ctx = bootstrap(settings_for(sqlite_url, CERTIFIA_SIGNING_KEY=key_setting(raw)))
    assert ctx.issuance.keys.active().kid == raw.kid
