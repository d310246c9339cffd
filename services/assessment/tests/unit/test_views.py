"""The read models (service_layer/views.py) on the fake unit of work: progress, decisions with their appeal
deadline and provenance, appeals to resolve, the audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from certifia_assessment.domain.candidates import UnknownCandidate
from certifia_assessment.service_layer import views
from certifia_assessment.service_layer.appeals import OpenAppeal, open_appeal
from certifia_assessment.service_layer.decisions import DecideCriterion, decide_criterion
from certifia_shared.envelope import utcnow
from certifia_shared.referential import load_referential

from .fakes import FakeAssessmentUnitOfWork, enrol

REF = load_referential()
WINDOW = timedelta(days=30)
WHY = "Il manque la section 3."


@pytest.fixture
def uow() -> FakeAssessmentUnitOfWork:
    fake = FakeAssessmentUnitOfWork()
    enrol(fake, "cand-1", "cand-2")
    return fake


def decide(
    uow: FakeAssessmentUnitOfWork, criterion: str, outcome: str = "validated", by: str = "jury-1"
) -> str:
    cmd = DecideCriterion("cand-1", criterion, outcome, WHY, by, "jury")  # type: ignore[arg-type]
    return decide_criterion(cmd, uow=uow, referential=REF)[0].id


def test_unknown_candidates_are_refused_by_every_candidate_view(uow: FakeAssessmentUnitOfWork) -> None:
    for view in (
        lambda: views.progress(uow, REF, "nobody"),
        lambda: views.decisions(uow, "nobody", None, WINDOW, exact=False),
        lambda: views.submissions(uow, "nobody"),
        lambda: views.appeals(uow, "nobody"),
        lambda: views.audit(uow, "nobody"),
        lambda: views.known_candidate(uow, "nobody"),
    ):
        with pytest.raises(UnknownCandidate):
            view()
    assert views.known_candidate(uow, "cand-1")["path"] == "formation"


def test_progress_counts_criteria_competencies_blocs_and_lists_appeals(uow: FakeAssessmentUnitOfWork) -> None:
    decide(uow, "1.A1.C1.E1")
    decide(uow, "1.A1.C1.E2")
    rejection = decide(uow, "1.A1.C2.E1", "rejected")
    for criterion in REF.bloc("4").criteria:
        decide(uow, criterion.id)
    appeal = open_appeal(
        OpenAppeal("cand-1", rejection, "x" * 25, "account-1", "candidate"), uow=uow, window=WINDOW
    )
    progress = views.progress(uow, REF, "cand-1")
    assert progress["blocs_passed"] == ["4"] and progress["referential_version"] == REF.version
    bloc_1 = next(b for b in progress["blocs"] if b["code"] == "1")
    assert (bloc_1["criteria_validated"], bloc_1["criteria_rejected"], bloc_1["passed"]) == (2, 1, False)
    a1c1 = next(c for c in bloc_1["competencies"] if c["id"] == "1.A1.C1")
    assert (a1c1["validated"], a1c1["criteria_validated"], a1c1["criteria_total"]) == (True, 2, 2)
    assert [(a["id"], a["status"], a["outcome"]) for a in progress["appeals"]] == [(appeal.id, "open", None)]
    assert progress["under_jury_review"] == []


def test_decisions_carry_the_appeal_deadline_of_a_rejection_in_force(uow: FakeAssessmentUnitOfWork) -> None:
    rejection = decide(uow, "1.A1.C2.E1", "rejected")
    decide(uow, "1.A1.C1.E1")
    rows = {r["id"]: r for r in views.decisions(uow, "cand-1", None, WINDOW, exact=False)}
    decided_at = rows[rejection]["decided_at"]
    assert rows[rejection]["appealable_until"] == decided_at + WINDOW
    assert rows[rejection]["accommodation"] is None
    assert all(r["appealable_until"] is None for i, r in rows.items() if i != rejection)
    assert [r["criterion_id"] for r in views.decisions(uow, "cand-1", "2", WINDOW, exact=False)] == []
    answer = views.decision_answer(uow, uow.decisions.rows[rejection], WINDOW)
    assert answer["id"] == rejection and answer["appealable_until"] == decided_at + WINDOW


def test_appeals_to_resolve_come_overdue_first(uow: FakeAssessmentUnitOfWork) -> None:
    late, soon = decide(uow, "1.A1.C2.E1", "rejected"), decide(uow, "1.A2.C1.E1", "rejected")
    a_soon = open_appeal(
        OpenAppeal("cand-1", soon, "x" * 25, "account-1", "candidate"), uow=uow, window=WINDOW
    )
    a_late = open_appeal(
        OpenAppeal("cand-1", late, "x" * 25, "account-1", "candidate"), uow=uow, window=WINDOW
    )
    uow.appeals.rows[a_late.id] = replace(a_late, opened_at=a_late.opened_at - timedelta(days=60))
    every = views.appeals_to_resolve(uow, status="open", overdue=None, resolution_window=WINDOW, now=utcnow())
    assert [a.id for a in every] == [a_late.id, a_soon.id]
    only_late = views.appeals_to_resolve(
        uow, status=None, overdue=True, resolution_window=WINDOW, now=utcnow()
    )
    assert [a.id for a in only_late] == [a_late.id]
    assert (
        views.appeals_to_resolve(uow, status="resolved", overdue=None, resolution_window=WINDOW, now=utcnow())
        == []
    )


def test_the_audit_trail_lists_decisions_appeals_and_the_withdrawal_oldest_first(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    rejection = decide(uow, "1.A1.C2.E1", "rejected", by="jury-7")
    open_appeal(OpenAppeal("cand-1", rejection, "x" * 25, "account-1", "candidate"), uow=uow, window=WINDOW)
    with uow:
        uow.candidates.set_withdrawn("cand-1", utcnow(), by="account-1", by_role="candidate", reason="parti")
        uow.commit()
    trail = views.audit(uow, "cand-1")
    assert [e.kind for e in trail] == ["decision", "appeal_opened", "withdrawal"]
    assert (trail[0].account, trail[0].reason, trail[0].ref) == ("jury-7", WHY, rejection)
    assert (trail[-1].account, trail[-1].reason) == ("account-1", "parti")
    assert views.audit(uow, "cand-2") == []


def test_a_blocs_progress_answers_what_asdict_would_for_every_bloc() -> None:
    """progress builds its blocs' answers by hand (asdict's deep copies were a sixth of a read's time)."""
    import json
    from dataclasses import asdict

    from certifia_assessment.domain.model import bloc_progress

    first = REF.bloc("1").criteria
    outcomes = {first[0].id: "validated", first[1].id: "rejected"}
    for bloc in REF.blocs:
        progress = bloc_progress(REF, bloc.code, outcomes, [bloc.competencies[0].id], bloc.code == "1")
        assert json.dumps(views._bloc_answer(progress)) == json.dumps(asdict(progress))


def test_the_criteria_validating_a_competency_are_computed_once_and_cannot_be_changed_through_an_answer() -> (
    None
):
    competency = REF.bloc("2").competencies[0].id
    first = REF.criteria_validating(competency)
    first.clear()
    assert REF.criteria_validating(competency) and REF.criteria_validating(
        competency
    ) == REF.criteria_validating(competency)


def _progress_as_before(ref: Any, code: str, outcomes: dict[str, Any], done: set[str], passed: bool) -> Any:
    """bloc_progress as it read the referential on every call, before its shapes were remembered."""
    from certifia_assessment.domain.model import BlocProgress, CompetencyProgress

    bloc = ref.bloc(code)
    comps = []
    for c in bloc.competencies:
        needed = [cr.id for cr in ref.criteria_validating(c.id)]
        ok = sum(1 for cid in needed if outcomes.get(cid) == "validated")
        comps.append(CompetencyProgress(c.id, c.code, c.id in done, ok, len(needed)))
    ids = [cr.id for cr in bloc.criteria]
    return BlocProgress(
        bloc.code,
        bloc.title,
        passed,
        tuple(comps),
        sum(1 for i in ids if outcomes.get(i) == "validated"),
        sum(1 for i in ids if outcomes.get(i) == "rejected"),
        len(ids),
    )


def test_a_blocs_progress_from_its_remembered_shape_is_what_the_referential_gives() -> None:
    import random

    from certifia_assessment.domain.model import bloc_progress
    from certifia_shared.referential.model import ReferentialLookupError

    rng = random.Random(15)
    criteria = [cr.id for b in REF.blocs for cr in b.criteria]
    competencies = [c.id for b in REF.blocs for c in b.competencies]
    for _ in range(20):
        outcomes: dict[str, Any] = {
            cid: rng.choice(["validated", "rejected"])
            for cid in rng.sample(criteria, rng.randrange(len(criteria)))
        }
        done = set(rng.sample(competencies, rng.randrange(len(competencies))))
        for bloc in REF.blocs:
            for code in (bloc.code, bloc.code.lower()):
                assert bloc_progress(REF, code, outcomes, done, True) == _progress_as_before(
                    REF, bloc.code, outcomes, done, True
                )
    with pytest.raises(ReferentialLookupError, match="unknown bloc"):
        bloc_progress(REF, "9", {}, set(), False)
