"""Every certification use case on the fake unit of work (no database): the event handlers (issuing bloc
certificates and the diploma), revocation, suspension, verification, the signing key, and the views.

The SQLite and PostgreSQL suites (tests/integration) run the same use cases on the real unit of work."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from certifia_certification.adapters.keystore import KeyRing
from certifia_certification.domain.credential import verify
from certifia_certification.domain.errors import (
    NoDiplomaYet,
    UnknownAchievement,
    UnknownBloc,
    UnknownBlocCertificate,
    UnknownCandidate,
    UnknownDiploma,
)
from certifia_certification.domain.signing import SigningKey
from certifia_certification.domain.status_list import LIST_SIZE, status_bit
from certifia_certification.domain.suspension import AlreadyRevoked
from certifia_certification.service_layer import views
from certifia_certification.service_layer.handlers import event_handlers
from certifia_certification.service_layer.issuance import CredentialIssuance
from certifia_certification.service_layer.keys import load_signing_key
from certifia_certification.service_layer.revocation import (
    RevokeBlocCertificate,
    RevokeDiploma,
    revoke_bloc_certificate,
    revoke_diploma,
    revoke_diploma_and_blocs,
)
from certifia_certification.service_layer.suspension import ChangeSuspension, change_suspension
from certifia_certification.service_layer.verification import (
    check_credential,
    check_diploma,
    presented_id,
)
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.db import Conflict
from certifia_shared.envelope import CloudEvent

from .fakes import DID, FakeCertificationUnitOfWork, fake_issuance

BLOCS = ["1", "2", "3", "4", "5B"]
REASON = "Fraude avérée aux évaluations."


@pytest.fixture
def uow() -> FakeCertificationUnitOfWork:
    return FakeCertificationUnitOfWork()


@pytest.fixture
def issuance(uow: FakeCertificationUnitOfWork) -> CredentialIssuance:
    return fake_issuance(uow)


def apply(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, *events: CloudEvent
) -> list[CloudEvent]:
    """Each event through its handler in its own committed unit of work, as the consumer does; returns what
    was emitted (and committed)."""
    handlers = event_handlers(issuance)
    emitted: list[CloudEvent] = []
    for event in events:
        with uow:
            handlers[event.type](event, uow)
            uow.commit()
            emitted += uow.emitted
    return emitted


def issued(uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any) -> str:
    """A candidate with every event that earns the diploma; returns the diploma's id."""
    emitted = apply(uow, issuance, *events.full_candidate())
    assert emitted[-1].type == ev.DIPLOMA_ISSUED
    return str(emitted[-1].data["diploma_id"])


def verifies(credential: dict[str, Any], issuance: CredentialIssuance) -> bool:
    key = issuance.keys.active()
    return verify(credential, {f"{issuance.did}#{key.kid}": key.public_key}.get).valid


# --- the event handlers: bloc certificates, then the diploma ---


def test_a_full_candidate_gets_five_bloc_certificates_then_one_diploma(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    emitted = apply(uow, issuance, *events.full_candidate())
    assert [e.type for e in emitted] == [*[ev.BLOC_CERTIFICATE_ISSUED] * 5, ev.DIPLOMA_ISSUED]
    assert [e.data["bloc"] for e in emitted[:5]] == BLOCS
    for e in emitted:
        contract(e.type).validate(e.data)
        assert e.subject == events.candidate_id
    diploma = emitted[-1].data
    assert diploma["blocs"] == BLOCS and diploma["option"] == "5B" and diploma["path"] == "formation"
    assert diploma["thesis_defence_id"] == "def-1" and diploma["given_name"] == "Ada"
    assert diploma["family_name"] == "Lovelace"
    assert diploma["verification_url"] == (
        f"https://certifia.example/diplomas/{diploma['diploma_id']}/verification"
    )
    assert uow.events() == emitted, "each handler's events committed with its state"
    progress = uow.progress.get(events.candidate_id)
    assert progress is not None and progress.diploma is not None
    assert progress.diploma.diploma_id == diploma["diploma_id"]
    assert sorted(progress.certificates) == sorted(BLOCS)
    assert uow.db.tenants[events.candidate_id] == "moodle", "the enrolling LMS is the candidate's tenant"


def test_the_credentials_are_signed_with_the_active_key_and_carry_two_status_entries(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma_id = issued(uow, issuance, events)
    diploma = uow.progress.diploma(diploma_id)
    assert diploma is not None and diploma.status is not None and diploma.suspension_status is not None
    assert verifies(diploma.credential, issuance)
    assert diploma.credential["proof"]["verificationMethod"] == f"{DID}#{issuance.keys.active().kid}"
    revocation, suspension = diploma.credential["credentialStatus"]
    assert revocation["statusPurpose"] == "revocation" and suspension["statusPurpose"] == "suspension"
    assert (
        revocation["statusListCredential"]
        == f"https://certifia.example/status-lists/{diploma.status.list_id}"
    )
    assert revocation["statusListIndex"] == str(diploma.status.index)
    assert diploma.suspension_status.list_id != diploma.status.list_id
    evidence = {e["id"] for e in diploma.credential.get("evidence", [])}
    for certificate in uow.progress.certificates_of(events.candidate_id):
        assert certificate.credential is not None and verifies(certificate.credential, issuance)
        assert certificate.status is not None and certificate.suspension_status is not None
        assert any(certificate.certificate_id in e for e in evidence), (
            "the diploma names its blocs' certificates"
        )
    lists = {(s.purpose, s.allocated, s.size) for s in uow.db.status_lists}
    assert lists == {("revocation", 6, LIST_SIZE), ("suspension", 6, LIST_SIZE)}


def test_status_entries_are_distinct_and_not_sequential(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, make_events: Any
) -> None:
    entries = []
    for _ in range(3):
        diploma = uow.progress.diploma(issued(uow, issuance, make_events()))
        assert diploma is not None and diploma.status is not None
        entries.append(diploma.status)
    assert len({e.list_id for e in entries}) == 1, "one list until it is full"
    indexes = [e.index for e in entries]
    assert len(set(indexes)) == 3 and indexes != list(range(indexes[0], indexes[0] + 3))


def test_the_same_events_again_change_nothing_and_emit_nothing(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    first = apply(uow, issuance, *events.full_candidate())
    assert apply(uow, issuance, *events.full_candidate()) == []
    assert len(uow.db.diplomas) == 1 and len(uow.db.certificates) == 5
    assert uow.events() == first


def test_events_in_any_order_issue_the_diploma_once_the_enrolment_arrives(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    enrolled, option, *blocs, thesis = events.full_candidate()
    emitted = apply(uow, issuance, thesis, *reversed(blocs))
    assert [e.type for e in emitted] == [ev.BLOC_CERTIFICATE_ISSUED] * 5
    certificate = uow.progress.certificates_of(events.candidate_id)[0]
    assert certificate.credential is not None
    assert "identifier" not in certificate.credential["credentialSubject"], "no holder known yet: none named"
    assert apply(uow, issuance, option) == [], "no enrolment: no diploma"
    [diploma] = apply(uow, issuance, enrolled)
    assert diploma.type == ev.DIPLOMA_ISSUED and diploma.data["blocs"] == BLOCS


def test_no_diploma_without_an_option_or_with_a_failed_thesis(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    apply(
        uow, issuance, events.enrolled(), *(events.bloc_passed(b) for b in ("1", "2", "3", "4", "5A", "5B"))
    )
    apply(uow, issuance, events.thesis_defended("failed", defence_id="def-1"))
    assert uow.db.diplomas == {}
    assert apply(uow, issuance, events.option_chosen("5A")) == [], "the thesis failed"
    [diploma] = apply(uow, issuance, events.thesis_defended("passed", defence_id="def-2"))
    assert (
        diploma.data["blocs"] == ["1", "2", "3", "4", "5A"] and diploma.data["thesis_defence_id"] == "def-2"
    )
    assert len(uow.db.certificates) == 6, "every bloc passed is certified, the unused option's too"


def test_a_failed_defence_is_replaced_by_a_later_pass_and_a_pass_is_final(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    apply(uow, issuance, events.thesis_defended("passed", defence_id="def-1"))
    apply(uow, issuance, events.thesis_defended("failed", defence_id="def-2"))
    progress = uow.progress.get(events.candidate_id)
    assert progress is not None and progress.thesis is not None
    assert (progress.thesis.defence_id, progress.thesis.outcome) == ("def-1", "passed")


def test_a_vae_candidate_gets_the_diploma_without_a_thesis(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    blocs = (events.bloc_passed(b, via="vae") for b in ("1", "2", "3", "4", "5A"))
    emitted = apply(uow, issuance, events.enrolled(path="vae"), events.option_chosen("5A"), *blocs)
    assert emitted[-1].type == ev.DIPLOMA_ISSUED
    assert emitted[-1].data["path"] == "vae" and emitted[-1].data["thesis_defence_id"] is None


def test_a_withdrawn_candidate_keeps_the_blocs_passed_before_and_gets_no_diploma(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    enrolled, option, *blocs, thesis = events.full_candidate()  # blocs passed on 2026-06-30
    apply(uow, issuance, enrolled, option, events.withdrawn("2026-07-01T09:00:00+00:00"))
    emitted = apply(uow, issuance, *blocs, thesis)  # the passes arrive after the withdrawal
    assert [e.type for e in emitted] == [ev.BLOC_CERTIFICATE_ISSUED] * 5
    assert uow.db.diplomas == {}
    progress = uow.progress.get(events.candidate_id)
    assert progress is not None
    assert progress.withdrawn_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert apply(uow, issuance, events.withdrawn("2026-08-01T09:00:00+00:00")) == []
    again = uow.progress.get(events.candidate_id)
    assert again is not None and again.withdrawn_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC), (
        "first date stands"
    )


def test_blocs_passed_after_the_withdrawal_earn_nothing(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    assert apply(uow, issuance, events.withdrawn("2026-06-01T09:00:00+00:00"), *events.full_candidate()) == []
    assert uow.db.certificates == {} and uow.db.diplomas == {}
    progress = uow.progress.get(events.candidate_id)
    assert progress is not None and sorted(progress.blocs) == sorted(BLOCS), (
        "the passes are kept, not certified"
    )


def test_a_bloc_earned_before_the_withdrawal_and_decided_after_is_certified(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    apply(uow, issuance, events.enrolled(), events.withdrawn("2026-06-01T09:00:00+00:00"))
    late = events.bloc_passed(
        "1", passed_at="2026-06-20T09:00:00+00:00", earned_at="2026-05-20T09:00:00+00:00"
    )
    [certificate] = apply(uow, issuance, late)
    assert certificate.type == ev.BLOC_CERTIFICATE_ISSUED and certificate.data["bloc"] == "1"
    after = events.bloc_passed("2", earned_at="2026-06-02T09:00:00+00:00")
    assert apply(uow, issuance, after) == []


def test_an_option_chosen_after_the_diploma_is_ignored(
    uow: FakeCertificationUnitOfWork,
    issuance: CredentialIssuance,
    events: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    diploma_id = issued(uow, issuance, events)
    assert apply(uow, issuance, events.option_chosen("5A", chosen_at="2026-09-01T09:00:00+00:00")) == []
    progress = uow.progress.get(events.candidate_id)
    assert progress is not None and progress.option == "5B", "the diploma's option stays"
    assert f"their diploma {diploma_id} in force" in caplog.text


def test_the_latest_option_choice_wins_by_when_it_was_made(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    apply(uow, issuance, events.option_chosen("5B", chosen_at="2026-03-01T09:00:00+00:00"))
    apply(uow, issuance, events.option_chosen("5A", chosen_at="2026-02-01T09:00:00+00:00"))  # older, late
    progress = uow.progress.get(events.candidate_id)
    assert progress is not None and progress.option == "5B"
    assert progress.option_chosen_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_event_timestamps_with_another_offset_are_kept_in_utc(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    apply(uow, issuance, events.withdrawn("2026-07-01T11:00:00+02:00"))
    progress = uow.progress.get(events.candidate_id)
    assert progress is not None and progress.withdrawn_at is not None
    assert progress.withdrawn_at.utcoffset() is not None and progress.withdrawn_at.tzinfo == UTC
    assert progress.withdrawn_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def test_a_second_diploma_for_one_candidate_is_a_conflict_and_rolls_back(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma_id = issued(uow, issuance, events)
    existing = uow.progress.diploma(diploma_id)
    assert existing is not None
    with pytest.raises(Conflict), uow:
        uow.progress.add_diploma(replace(existing, diploma_id="another"))
    assert list(uow.db.diplomas) == [diploma_id]


# --- revocation ---


def test_revoking_a_diploma_records_it_once_and_emits_once(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma_id = issued(uow, issuance, events)
    cmd = RevokeDiploma(diploma_id, REASON, revoked_by="officer-7", revoked_by_role="officer")
    diploma, new = revoke_diploma(cmd, uow=uow)
    assert new and diploma.revocation is not None and diploma.revocation.reason == REASON
    assert diploma.revocation.revoked_at.microsecond == 0
    [event] = uow.events(ev.DIPLOMA_REVOKED)
    assert event.data == {
        "diploma_id": diploma_id,
        "candidate_id": events.candidate_id,
        "reason": REASON,
        "revoked_at": event.data["revoked_at"],
        "revoked_by": "officer-7",
        "revoked_by_role": "officer",
    }
    again, new = revoke_diploma(RevokeDiploma(diploma_id, "autre", "admin-1", "admin"), uow=uow)
    assert not new and again.revocation == diploma.revocation, "the first revocation stands"
    assert len(uow.events(ev.DIPLOMA_REVOKED)) == 1
    assert uow.events(ev.BLOC_CERTIFICATE_REVOKED) == [], "the blocs stay certified by default"
    assert all(c.revocation is None for c in uow.db.certificates.values())


def test_revoking_a_diploma_with_its_blocs_revokes_each_not_yet_revoked(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma_id = issued(uow, issuance, events)
    first = uow.progress.certificates_of(events.candidate_id)[0]
    revoke_bloc_certificate(
        RevokeBlocCertificate(first.certificate_id, "avant", "officer-1", "officer"), uow=uow
    )
    cmd = RevokeDiploma(diploma_id, REASON, "officer-7", "officer", include_bloc_certificates=True)
    result = revoke_diploma_and_blocs(cmd, uow=uow)
    assert result.new and len(result.bloc_certificates) == 4
    events_out = uow.events(ev.BLOC_CERTIFICATE_REVOKED)
    assert len(events_out) == 5
    assert [e.data["diploma_id"] for e in events_out[1:]] == [diploma_id] * 4
    assert "diploma_id" not in events_out[0].data, "revoked on its own first"
    kept = uow.progress.certificate(first.certificate_id)
    assert kept is not None and kept.revocation is not None and kept.revocation.reason == "avant"
    again = revoke_diploma_and_blocs(cmd, uow=uow)
    assert not again.new and again.bloc_certificates == ()
    assert len(uow.events(ev.DIPLOMA_REVOKED)) == 1 and len(uow.events(ev.BLOC_CERTIFICATE_REVOKED)) == 5


def test_revoking_a_bloc_certificate_is_idempotent(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    issued(uow, issuance, events)
    certificate = uow.progress.certificates_of(events.candidate_id)[0]
    cmd = RevokeBlocCertificate(certificate.certificate_id, REASON, "officer-7", "officer")
    revoked, new = revoke_bloc_certificate(cmd, uow=uow)
    assert new and revoked.revocation is not None and revoked.revocation.revoked_by == "officer-7"
    [event] = uow.events(ev.BLOC_CERTIFICATE_REVOKED)
    assert (
        event.data["certificate_id"] == certificate.certificate_id and event.data["bloc"] == certificate.bloc
    )
    again, new = revoke_bloc_certificate(
        RevokeBlocCertificate(certificate.certificate_id, "x", "a", "admin"), uow=uow
    )
    assert not new and again.revocation == revoked.revocation
    assert len(uow.events(ev.BLOC_CERTIFICATE_REVOKED)) == 1
    assert uow.events(ev.DIPLOMA_REVOKED) == [], "the diploma is not revoked with a bloc"


def test_revoking_what_does_not_exist_is_refused(uow: FakeCertificationUnitOfWork) -> None:
    with pytest.raises(UnknownDiploma):
        revoke_diploma(RevokeDiploma("nope", REASON, "officer-7", "officer"), uow=uow)
    with pytest.raises(UnknownBlocCertificate):
        revoke_bloc_certificate(RevokeBlocCertificate("nope", REASON, "officer-7", "officer"), uow=uow)
    assert uow.committed == 0


# --- suspension ---


def test_suspending_then_lifting_a_diploma_keeps_the_history(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma_id = issued(uow, issuance, events)
    published = list(uow.outbox)
    suspend = ChangeSuspension("diploma", diploma_id, "suspend", "appel en cours", "officer-7", "officer")
    state = change_suspension(suspend, uow=uow)
    assert state.changed and state.suspension is not None and state.suspension.reason == "appel en cours"
    assert state.candidate_id == events.candidate_id
    assert [r.action for r in state.history] == ["suspended"]
    assert not change_suspension(suspend, uow=uow).changed, "a suspended diploma stays suspended once"
    held = uow.progress.diploma(diploma_id)
    assert held is not None and held.suspension == state.suspension
    lift = ChangeSuspension("diploma", diploma_id, "lift", "appel rejeté", "admin-1", "admin")
    lifted = change_suspension(lift, uow=uow)
    assert lifted.changed and lifted.suspension is None
    assert [(r.action, r.by) for r in lifted.history] == [("suspended", "officer-7"), ("lifted", "admin-1")]
    assert not change_suspension(lift, uow=uow).changed, "lifting when not suspended changes nothing"
    shown = views.suspension_state("diploma", diploma_id, uow=uow)
    assert shown.suspension is None and len(shown.history) == 2 and not shown.changed
    assert uow.outbox == published, "no event: the bus has no suspension event type yet"


def test_a_bloc_certificate_is_suspended_like_a_diploma(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    issued(uow, issuance, events)
    certificate = uow.progress.certificates_of(events.candidate_id)[0]
    cmd = ChangeSuspension(
        "bloc_certificate", certificate.certificate_id, "suspend", "enquête", "o", "officer"
    )
    assert change_suspension(cmd, uow=uow).changed
    held = uow.progress.certificate(certificate.certificate_id)
    assert held is not None and held.suspension is not None and held.suspension.reason == "enquête"


def test_a_revoked_credential_is_not_suspended(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma_id = issued(uow, issuance, events)
    revoke_diploma(RevokeDiploma(diploma_id, REASON, "officer-7", "officer"), uow=uow)
    with pytest.raises(AlreadyRevoked) as refused:
        change_suspension(ChangeSuspension("diploma", diploma_id, "suspend", "x", "o", "officer"), uow=uow)
    assert refused.value.credential_id == diploma_id and refused.value.revocation.reason == REASON
    assert uow.db.suspension_history == []


def test_suspending_what_does_not_exist_is_refused(uow: FakeCertificationUnitOfWork) -> None:
    with pytest.raises(UnknownDiploma):
        change_suspension(ChangeSuspension("diploma", "nope", "suspend", "x", "o", "officer"), uow=uow)
    with pytest.raises(UnknownBlocCertificate):
        views.suspension_state("bloc_certificate", "nope", uow=uow)


# --- verification ---


def test_an_issued_diploma_verifies_until_suspended_or_revoked(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma_id = issued(uow, issuance, events)
    checked = check_diploma(diploma_id, uow=uow, issuance=issuance)
    assert checked is not None and checked.check.valid, checked.check.reason
    assert [c.name for c in checked.check.checks][
        -1
    ] == "status" and checked.check.kid == issuance.keys.active().kid
    change_suspension(ChangeSuspension("diploma", diploma_id, "suspend", "appel", "o", "officer"), uow=uow)
    suspended = check_credential(
        checked.diploma.credential, uow=uow, issuance=issuance, diploma_id=diploma_id
    )
    assert not suspended.valid and suspended.failure == "suspended" and suspended.suspension is not None
    unlisted = check_credential(checked.diploma.credential, uow=uow, issuance=issuance, diploma_id=None)
    assert unlisted.failure == "suspended", "the suspension status list says so too"
    revoke_diploma(RevokeDiploma(diploma_id, REASON, "officer-7", "officer"), uow=uow)
    revoked = check_credential(checked.diploma.credential, uow=uow, issuance=issuance, diploma_id=diploma_id)
    assert not revoked.valid and revoked.failure == "revoked" and revoked.reason.endswith(REASON)
    listed = check_credential(checked.diploma.credential, uow=uow, issuance=issuance, diploma_id=None)
    assert listed.failure == "revoked" and listed.reason == "revoked: its status list entry is set"


def test_a_tampered_credential_fails_its_proof(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma = uow.progress.diploma(issued(uow, issuance, events))
    assert diploma is not None
    tampered = copy.deepcopy(diploma.credential)
    tampered["credentialSubject"]["name"] = "Mallory"
    result = check_credential(tampered, uow=uow, issuance=issuance, diploma_id=diploma.diploma_id)
    assert not result.valid and result.failure is not None
    assert [c.name for c in result.checks][-1] == "proof" and not result.checks[-1].passed


def test_a_status_list_of_another_issuer_cannot_be_checked(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma = uow.progress.diploma(issued(uow, issuance, events))
    assert diploma is not None and diploma.status is not None
    uow.db.status_lists = [s for s in uow.db.status_lists if s.list_id != diploma.status.list_id]
    result = check_credential(diploma.credential, uow=uow, issuance=issuance, diploma_id=None)
    assert result.failure == "status_unchecked" and "is not a status list of this issuer" in result.reason


def test_an_unknown_diploma_has_no_check(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance
) -> None:
    assert check_diploma("nope", uow=uow, issuance=issuance) is None


# --- the signing key ---


def test_the_generated_key_is_kept_and_read_back() -> None:
    uow = FakeCertificationUnitOfWork()
    ring_a, ring_b = KeyRing(None), KeyRing(None)
    first = load_signing_key(ring_a, lambda: uow)
    second = load_signing_key(ring_b, lambda: uow)  # a restart, or another replica
    assert first.kid == second.kid == ring_b.active().kid
    assert list(uow.keys.public_keys()) == [first.kid]


def test_a_replica_that_lost_the_race_to_generate_reads_the_winners_key() -> None:
    uow = FakeCertificationUnitOfWork()
    winner = SigningKey.generate()
    real_generated = uow.keys.generated
    calls = []

    def generated_after_the_race() -> SigningKey | None:
        calls.append(1)
        if len(calls) == 1:  # read before the other replica wrote
            return None
        return real_generated()

    def add_generated(key: SigningKey) -> None:  # the other replica's key is there: the slot is taken
        raise Conflict("uq_signing_keys_slot")

    with uow:
        uow.keys.add_generated(winner)
        uow.commit()
    uow.keys.generated = generated_after_the_race  # type: ignore[method-assign]
    uow.keys.add_generated = add_generated  # type: ignore[method-assign]
    ring = KeyRing(None)
    assert load_signing_key(ring, lambda: uow).kid == winner.kid and len(calls) == 2


def test_a_configured_key_is_used_and_its_public_half_recorded_once() -> None:
    uow = FakeCertificationUnitOfWork()
    raw = SigningKey.generate()
    configured = raw.private_key.private_bytes_raw()
    assert load_signing_key(KeyRing(configured), lambda: uow).kid == raw.kid
    assert load_signing_key(KeyRing(configured), lambda: uow).kid == raw.kid
    assert list(uow.keys.public_keys()) == [raw.kid] and uow.keys.generated() is None


# --- the views ---


def test_the_progress_view_judges_the_candidate_by_the_rule(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    apply(uow, issuance, events.enrolled(), events.bloc_passed("3"), events.bloc_passed("1"))
    view = views.candidate_progress(events.candidate_id, uow=uow, issuance=issuance)
    assert view.enrolled and (view.given_name, view.family_name, view.path) == (
        "Ada",
        "Lovelace",
        "formation",
    )
    assert view.blocs_passed == ["1", "3"], "in the referential's order"
    assert [c.bloc for c in view.certificates] == ["1", "3"]
    assert view.thesis.required and view.thesis.status == "not_defended" and view.thesis.defence_id is None
    assert [m.code for m in view.missing] == ["bloc:2", "bloc:4", "option", "thesis"]
    assert view.diploma_id is None
    diploma_id = issued(uow, issuance, events)
    done = views.candidate_progress(events.candidate_id, uow=uow, issuance=issuance)
    assert done.missing == [] and done.diploma_id == diploma_id and done.thesis.status == "passed"


def test_the_views_refuse_what_they_do_not_know(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    with pytest.raises(UnknownCandidate) as unknown:
        views.candidate_progress("nobody", uow=uow, issuance=issuance)
    assert unknown.value.candidate_id == "nobody"
    with pytest.raises(UnknownCandidate):
        views.candidate_diploma("nobody", uow=uow)
    apply(uow, issuance, events.enrolled())
    with pytest.raises(NoDiplomaYet):
        views.candidate_diploma(events.candidate_id, uow=uow)
    with pytest.raises(UnknownDiploma):
        views.diploma("nope", uow=uow)
    with pytest.raises(UnknownBlocCertificate):
        views.bloc_certificate("nope", uow=uow)
    assert views.status_list("nope", uow=uow, issuance=issuance) is None


def test_the_diploma_and_certificate_views(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma_id = issued(uow, issuance, events)
    assert views.candidate_diploma(events.candidate_id, uow=uow).diploma_id == diploma_id
    assert views.diploma(diploma_id, uow=uow).candidate_id == events.candidate_id
    certificate = uow.progress.certificates_of(events.candidate_id)[0]
    assert views.bloc_certificate(certificate.certificate_id, uow=uow) == certificate


def test_the_issuers_keys_and_status_lists_are_published_signed(
    uow: FakeCertificationUnitOfWork, issuance: CredentialIssuance, events: Any
) -> None:
    diploma_id = issued(uow, issuance, events)
    kid = issuance.keys.active().kid
    document = views.did_document(uow=uow, issuance=issuance)
    assert document["id"] == DID and document["assertionMethod"] == [f"{DID}#{kid}"]
    [jwk] = views.jwks(uow=uow)["keys"]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["kid"] == kid
    revoke_diploma(RevokeDiploma(diploma_id, REASON, "officer-7", "officer"), uow=uow)
    diploma = uow.progress.diploma(diploma_id)
    assert diploma is not None and diploma.status is not None
    published = views.status_list(diploma.status.list_id, uow=uow, issuance=issuance)
    assert published is not None and verifies(published, issuance)
    assert status_bit(published, diploma.status.index, "revocation")


def test_the_achievements_of_the_current_referential_only(issuance: CredentialIssuance) -> None:
    current = f"referential-{issuance.referential.version}"
    diploma = views.achievement(current, issuance=issuance)
    assert diploma["id"] == f"https://certifia.example/achievements/{current}" and "@context" in diploma
    bloc = views.bloc_achievement_of(current, "1", issuance=issuance)
    assert bloc["id"] == f"https://certifia.example/achievements/{current}/blocs/1"
    assert bloc["name"] == f"Bloc 1: {issuance.referential.bloc('1').title}"
    with pytest.raises(UnknownAchievement) as old:
        views.achievement("referential-0.9.0", issuance=issuance)
    assert (old.value.achievement_id, old.value.current) == ("referential-0.9.0", current)
    with pytest.raises(UnknownBloc) as unknown:
        views.bloc_achievement_of(current, "9", issuance=issuance)
    assert unknown.value.bloc == "9" and unknown.value.blocs == tuple(b for b, _ in issuance.data.blocs)


def test_a_presented_credential_names_its_id_as_a_urn() -> None:
    assert presented_id({"id": "urn:uuid:1234"}) == "1234"
    assert presented_id({"id": "1234"}) == "1234"
    assert presented_id({}) is None and presented_id({"id": ""}) is None
