"""decide_vae (a VAE jury's ruling on a whole bloc) on the fake unit of work."""

from __future__ import annotations

from typing import Any

import pytest

from certifia_assessment.domain.candidates import CandidateWithdrawn
from certifia_assessment.domain.vae import BlocAlreadyPassed, NotVaeCandidate, OtherOptionBloc
from certifia_assessment.service_layer.vae import DecideVae, VaeRuling, decide_vae
from certifia_shared import event_types as ev
from certifia_shared.envelope import utcnow
from certifia_shared.referential import load_referential

from .fakes import FakeAssessmentUnitOfWork, enrol, event_data

REF = load_referential()
WHY = "Le livret 2 montre la compétence sur trois missions en entreprise."


@pytest.fixture
def uow() -> FakeAssessmentUnitOfWork:
    fake = FakeAssessmentUnitOfWork()
    enrol(fake, "vae-1", path="vae")
    enrol(fake, "cand-1")
    return fake


def rule(uow: FakeAssessmentUnitOfWork, bloc: str = "4", outcome: str = "validated", **kw: Any) -> VaeRuling:
    values: dict[str, Any] = {
        "candidate_id": "vae-1",
        "bloc": bloc,
        "outcome": outcome,
        "comment": WHY,
        "evidence_reference": "LIVRET2-2026-17",
        "decided_by": "jury-1",
        "decided_by_role": "jury",
        **kw,
    }
    return decide_vae(DecideVae(**values), uow=uow, referential=REF)


def test_a_validated_bloc_is_passed_via_vae(uow: FakeAssessmentUnitOfWork) -> None:
    ruling = rule(uow)
    assert ruling.created and ruling.decision is not None and ruling.passed_at == ruling.decision.decided_at
    [decided] = event_data(uow, ev.VAE_DECIDED)
    assert (decided["bloc"], decided["outcome"], decided["evidence_reference"]) == (
        "4",
        "validated",
        "LIVRET2-2026-17",
    )
    assert decided["competencies_validated"] == [c.id for c in REF.bloc("4").competencies]
    [passed] = event_data(uow, ev.BLOC_PASSED)
    assert (passed["via"], passed["earned_at"]) == ("vae", passed["passed_at"])
    assert uow.decisions.passed_blocs("vae-1")["4"]["via"] == "vae"


def test_the_same_ruling_again_or_a_validation_of_a_passed_bloc_is_a_repeat(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    first = rule(uow)
    sent = len(uow.events())
    again = rule(uow)
    assert not again.created and again.decision == first.decision and again.passed_at == first.passed_at
    other_jury = rule(uow, decided_by="jury-2", evidence_reference="AUTRE")
    assert not other_jury.created and len(uow.events()) == sent
    with pytest.raises(BlocAlreadyPassed) as refused:
        rule(uow, outcome="rejected")
    assert (refused.value.bloc, refused.value.via) == ("4", "vae")


def test_a_partial_validation_validates_the_competencies_named_then_completes_the_bloc(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    competencies = [c.id for c in REF.bloc("4").competencies]
    part = rule(uow, outcome="partially_validated", competencies=tuple(competencies[:2]))
    assert part.created and part.passed_at is None
    assert {e["competency_id"] for e in event_data(uow, ev.COMPETENCY_VALIDATED)} == set(competencies[:2])
    rest = rule(uow, outcome="partially_validated", competencies=tuple(competencies))
    assert rest.passed_at is not None
    assert len(uow.events(ev.COMPETENCY_VALIDATED)) == len(competencies)  # none validated twice
    assert len(uow.events(ev.BLOC_PASSED)) == 1


def test_a_rejection_validates_nothing(uow: FakeAssessmentUnitOfWork) -> None:
    ruling = rule(uow, outcome="rejected")
    assert ruling.created and ruling.passed_at is None
    assert [e.type for e in uow.events()] == [ev.VAE_DECIDED]


def test_who_and_what_a_vae_jury_cannot_rule_on(uow: FakeAssessmentUnitOfWork) -> None:
    with pytest.raises(NotVaeCandidate):
        rule(uow, candidate_id="cand-1")
    with uow:
        uow.candidates.set_option("vae-1", "5A")
        uow.commit()
    with pytest.raises(OtherOptionBloc) as other:
        rule(uow, bloc="5B")
    assert other.value.other == "5A"
    with uow:
        uow.candidates.set_withdrawn("vae-1", utcnow(), by_role="candidate")
        uow.commit()
    with pytest.raises(CandidateWithdrawn):
        rule(uow)
    assert uow.events() == []
