"""open_appeal and resolve_appeal on the fake unit of work: the appeal and its events, the refusals, and the
races the unique key and the conditional resolution settle."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from certifia_assessment.domain.appeals import (
    AlreadyAppealed,
    AlreadyResolved,
    Appeal,
    AppealWindowClosed,
    NotARejection,
    NotImpartial,
    Resolution,
    UnknownAppeal,
    UnknownDecision,
)
from certifia_assessment.domain.candidates import CandidateWithdrawn, UnknownCandidate
from certifia_assessment.domain.governance import Accommodation
from certifia_assessment.domain.model import Decision
from certifia_assessment.service_layer.appeals import OpenAppeal, ResolveAppeal, open_appeal, resolve_appeal
from certifia_assessment.service_layer.decisions import DecideCriterion, decide_criterion
from certifia_shared import event_types as ev
from certifia_shared.envelope import utcnow
from certifia_shared.referential import load_referential

from .fakes import FakeAssessmentUnitOfWork, enrol, event_data

REF = load_referential()
WINDOW = timedelta(days=30)
GROUNDS = "Le livrable traite bien la consigne, voir la section 3."
REASONING = "La section 3 répond bien au critère contesté."


@pytest.fixture
def uow() -> FakeAssessmentUnitOfWork:
    fake = FakeAssessmentUnitOfWork()
    enrol(fake, "cand-1", "cand-2")
    return fake


def reject(
    uow: FakeAssessmentUnitOfWork, criterion: str = "1.A1.C1.E1", candidate: str = "cand-1"
) -> Decision:
    cmd = DecideCriterion(candidate, criterion, "rejected", "Il manque la section 3.", "jury-1", "jury")
    return decide_criterion(cmd, uow=uow, referential=REF)[0]


def contest(uow: FakeAssessmentUnitOfWork, decision_id: str, **overrides: Any) -> Appeal:
    values: dict[str, Any] = {
        "candidate_id": "cand-1",
        "decision_id": decision_id,
        "grounds": GROUNDS,
        "opened_by": "account-1",
        "opened_by_role": "candidate",
        **overrides,
    }
    return open_appeal(OpenAppeal(**values), uow=uow, window=WINDOW)


def resolve(
    uow: FakeAssessmentUnitOfWork, appeal_id: str, outcome: str = "upheld", by: str = "officer-1"
) -> tuple[Appeal, bool]:
    cmd = ResolveAppeal(appeal_id, outcome, REASONING, by, "officer")  # type: ignore[arg-type]
    return resolve_appeal(cmd, uow=uow, referential=REF)


def test_a_rejection_is_contested_once_with_appeal_opened(uow: FakeAssessmentUnitOfWork) -> None:
    rejection = reject(uow)
    appeal = contest(uow, rejection.id)
    assert uow.appeals.appeal(appeal.id) == appeal and appeal.status == "open"
    [opened] = event_data(uow, ev.APPEAL_OPENED)
    assert opened == {
        "appeal_id": appeal.id,
        "candidate_id": "cand-1",
        "decision_id": rejection.id,
        "bloc": "1",
        "criterion_id": "1.A1.C1.E1",
        "criterion_code": "A1-C1-E1",
        "grounds": GROUNDS,
        "opened_by": "account-1",
        "opened_by_role": "candidate",
        "opened_at": appeal.opened_at.isoformat(),
    }
    with pytest.raises(AlreadyAppealed) as again:
        contest(uow, rejection.id)
    assert again.value.appeal.id == appeal.id and len(uow.events(ev.APPEAL_OPENED)) == 1


def test_a_concurrent_opening_that_won_is_named_in_the_refusal(uow: FakeAssessmentUnitOfWork) -> None:
    rejection = reject(uow)
    theirs = Appeal(
        "theirs",
        "cand-1",
        rejection.id,
        "1",
        "1.A1.C1.E1",
        "A1-C1-E1",
        GROUNDS,
        "officer-9",
        "officer",
        utcnow(),
    )
    uow.race_on_next_commit(lambda committed: committed.appeals.add_appeal(theirs))
    with pytest.raises(AlreadyAppealed) as refused:
        contest(uow, rejection.id)
    assert refused.value.appeal.id == "theirs"
    assert uow.events(ev.APPEAL_OPENED) == []


def test_what_cannot_be_contested(uow: FakeAssessmentUnitOfWork) -> None:
    with pytest.raises(UnknownCandidate):
        contest(uow, "d-1", candidate_id="nobody")
    with pytest.raises(UnknownDecision) as unknown:
        contest(uow, "d-1")
    assert (unknown.value.candidate_id, unknown.value.decision_id) == ("cand-1", "d-1")
    of_another = reject(uow, candidate="cand-2")
    with pytest.raises(UnknownDecision):
        contest(uow, of_another.id)  # another candidate's decision is not theirs to contest
    validation = decide_criterion(
        DecideCriterion("cand-1", "1.A1.C2.E1", "validated", "", "jury-1", "jury"), uow=uow, referential=REF
    )[0]
    with pytest.raises(NotARejection):
        contest(uow, validation.id)
    old = reject(uow, "1.A2.C1.E1")
    uow.decisions.rows[old.id] = replace(old, decided_at=old.decided_at - timedelta(days=31))
    with pytest.raises(AppealWindowClosed):
        contest(uow, old.id)
    assert uow.appeals.rows == {}


def test_an_accommodation_stretches_the_window(uow: FakeAssessmentUnitOfWork) -> None:
    old = reject(uow)
    uow.decisions.rows[old.id] = replace(old, decided_at=old.decided_at - timedelta(days=35))
    with pytest.raises(AppealWindowClosed):
        contest(uow, old.id)
    with uow:
        uow.governance.add_accommodation(
            Accommodation("acc-1", "cand-1", 1.5, "MDPH-1", "officer-1", "officer", utcnow())
        )
        uow.commit()
    assert contest(uow, old.id).decision_id == old.id  # 45 days now


def test_after_a_withdrawal_only_a_rejection_earned_before_it_can_be_contested(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    before = reject(uow)
    with uow:
        uow.candidates.set_withdrawn("cand-1", utcnow(), by_role="candidate")
        uow.commit()
    with pytest.raises(CandidateWithdrawn):
        contest(uow, "d-unknown")
    assert contest(uow, before.id).decision_id == before.id
    withdrawn_at = (uow.candidates.candidate("cand-1") or {})["withdrawn_at"]
    later = withdrawn_at + timedelta(hours=1)
    after = replace(before, id="d-after", criterion_id="1.A2.C1.E1", decided_at=later, earned_at=later)
    uow.decisions.rows[after.id] = after
    with pytest.raises(CandidateWithdrawn):
        contest(uow, after.id)


def test_upheld_validates_the_criterion_by_a_new_decision_named_in_appeal_resolved(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    appeal = contest(uow, reject(uow).id)
    resolved, new = resolve(uow, appeal.id)
    assert new and resolved.resolution is not None
    decision = uow.decisions.decision_in_force("cand-1", "1.A1.C1.E1")
    assert decision is not None and decision.outcome == "validated"
    assert resolved.resolution.decision_id == decision.id
    assert (decision.decided_by, decision.decided_by_role) == ("officer-1", "officer")
    assert decision.comment == f"Appeal {appeal.id} upheld: {REASONING}"
    contested = uow.decisions.decision(appeal.decision_id)
    assert contested is not None and decision.earned_at == contested.earned  # the right came with it
    [resolution] = event_data(uow, ev.APPEAL_RESOLVED)
    assert (resolution["outcome"], resolution["resolution_decision_id"]) == ("upheld", decision.id)
    assert [e.type for e in uow.events()][-2:] == [ev.CRITERION_VALIDATED, ev.APPEAL_RESOLVED]
    stored = uow.appeals.appeal(appeal.id)
    assert stored is not None and stored.resolution == resolved.resolution


def test_dismissed_records_only_the_resolution_and_a_repeat_is_harmless(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    appeal = contest(uow, reject(uow).id)
    resolved, new = resolve(uow, appeal.id, "dismissed")
    assert new and resolved.resolution is not None and resolved.resolution.decision_id is None
    assert uow.events(ev.CRITERION_VALIDATED) == []
    again, new = resolve(uow, appeal.id, "dismissed")
    assert not new and again.resolution == resolved.resolution
    with pytest.raises(AlreadyResolved):
        resolve(uow, appeal.id, "upheld")
    assert len(uow.events(ev.APPEAL_RESOLVED)) == 1


def test_refusals_of_a_resolution(uow: FakeAssessmentUnitOfWork) -> None:
    with pytest.raises(UnknownAppeal):
        resolve(uow, "a-9")
    appeal = contest(uow, reject(uow).id, opened_by="officer-2", opened_by_role="officer")
    with pytest.raises(NotImpartial) as partial:
        resolve(uow, appeal.id, by="officer-2")
    assert partial.value.rule == "opened-the-appeal"
    assert uow.events(ev.APPEAL_RESOLVED) == []


def test_a_resolution_by_someone_else_in_the_meantime_stands(uow: FakeAssessmentUnitOfWork) -> None:
    appeal = contest(uow, reject(uow).id)
    theirs = Resolution("dismissed", REASONING, "officer-9", "officer", utcnow())
    real = uow.appeals.record_resolution

    def resolved_first(appeal_id: str, r: Resolution) -> bool:
        real(appeal_id, theirs)  # the other transaction's row, committed before our conditional UPDATE
        uow._snapshot["appeals"].rows[appeal_id] = uow.appeals.rows[appeal_id]
        return False

    uow.appeals.record_resolution = resolved_first  # type: ignore[method-assign]
    with pytest.raises(AlreadyResolved) as refused:
        resolve(uow, appeal.id, "upheld")
    assert refused.value.appeal.resolution == theirs
    assert uow.events(ev.APPEAL_RESOLVED) == [] and uow.events(ev.CRITERION_VALIDATED) == []
