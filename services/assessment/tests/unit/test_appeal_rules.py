"""The appeal rules (domain/appeals.py), without I/O: what may be contested, until when, by whom resolved."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from certifia_assessment.domain.appeals import (
    AlreadyAppealed,
    AlreadyResolved,
    Appeal,
    AppealWindowClosed,
    DecisionSuperseded,
    NotARejection,
    NotImpartial,
    appeal_deadline,
    open_appeal,
    resolve_appeal,
)
from certifia_assessment.domain.model import Decision

DECIDED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WINDOW = timedelta(days=30)
GROUNDS = "Le jeu de test caché contenait des doublons interdits par l'énoncé."
REASONING = "Les doublons faussaient la mesure ; le critère est validé après revue."
REJECTION = Decision(
    id="d-1",
    candidate_id="cand-1",
    bloc="2",
    criterion_id="2.A1.C1.E1",
    criterion_code="A1-C1-E1",
    outcome="rejected",
    comment="seuil non atteint",
    decided_by="jury-1",
    decided_by_role="jury",
    decided_at=DECIDED,
)


def _open(decision: Decision = REJECTION, **kw: Any) -> Appeal:
    args: dict[str, Any] = {
        "in_force": decision,
        "existing": None,
        "appeal_id": "a-1",
        "grounds": GROUNDS,
        "opened_by": "c1",
        "opened_by_role": "candidate",
        "now": DECIDED + timedelta(days=3),
        "window": WINDOW,
        **kw,
    }
    return open_appeal(decision, **args)


def _resolve(appeal: Appeal, **kw: Any) -> tuple[Appeal, bool]:
    args: dict[str, Any] = {
        "contested": REJECTION,
        "outcome": "upheld",
        "reasoning": REASONING,
        "resolved_by": "officer-1",
        "resolved_by_role": "officer",
        "now": DECIDED + timedelta(days=10),
        **kw,
    }
    return resolve_appeal(appeal, **args)


def test_the_rejection_in_force_is_contested_with_the_decisions_criterion() -> None:
    appeal = _open(grounds=f"  {GROUNDS}\n")
    assert appeal.status == "open" and appeal.resolution is None
    assert (appeal.candidate_id, appeal.decision_id, appeal.criterion_id, appeal.bloc) == (
        "cand-1",
        "d-1",
        "2.A1.C1.E1",
        "2",
    )
    assert appeal.grounds == GROUNDS, "grounds are stored stripped"


def test_a_validation_cannot_be_contested() -> None:
    validation = replace(REJECTION, outcome="validated")
    with pytest.raises(NotARejection, match="only a rejection"):
        _open(validation)


def test_only_the_decision_in_force_can_be_contested() -> None:
    later = replace(REJECTION, id="d-2", decided_at=DECIDED + timedelta(days=1))
    with pytest.raises(DecisionSuperseded, match="d-2") as exc:
        _open(REJECTION, in_force=later)
    assert exc.value.in_force == later


def test_the_window_is_inclusive_of_its_last_instant() -> None:
    deadline = appeal_deadline(REJECTION, WINDOW)
    assert deadline == datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
    assert _open(now=deadline).opened_at == deadline
    with pytest.raises(AppealWindowClosed) as exc:
        _open(now=deadline + timedelta(microseconds=1))
    assert exc.value.deadline == deadline


def test_a_decision_is_contested_once_and_the_refusal_names_the_first_appeal() -> None:
    first = _open()
    with pytest.raises(AlreadyAppealed, match="a-1") as exc:
        _open(existing=first, appeal_id="a-2")
    assert exc.value.appeal is first
    dismissed, _ = _resolve(first, outcome="dismissed")
    with pytest.raises(AlreadyAppealed, match="resolved"):
        _open(existing=dismissed, appeal_id="a-3")


@pytest.mark.parametrize("text", ["", " " * 30, "x" * 19, "x" * 4001])
def test_grounds_are_20_to_4000_characters(text: str) -> None:
    with pytest.raises(ValueError, match="grounds"):
        _open(grounds=text)


def test_resolving_records_who_how_and_why() -> None:
    resolved, new = _resolve(_open())
    assert new and resolved.status == "resolved"
    assert resolved.resolution is not None
    assert (resolved.resolution.outcome, resolved.resolution.resolved_by) == ("upheld", "officer-1")
    assert resolved.resolution.resolved_at == DECIDED + timedelta(days=10)


def test_the_author_of_the_contested_decision_may_not_resolve_it() -> None:
    with pytest.raises(NotImpartial, match="d-1"):
        _resolve(_open(), resolved_by="jury-1")


def test_a_resolution_is_final_but_the_same_request_again_is_a_harmless_retry() -> None:
    resolved, _ = _resolve(_open(), outcome="dismissed")
    again, new = _resolve(resolved, outcome="dismissed")
    assert again == resolved and not new
    with pytest.raises(AlreadyResolved, match="dismissed"):
        _resolve(resolved, outcome="upheld")
    with pytest.raises(AlreadyResolved):
        _resolve(resolved, outcome="dismissed", resolved_by="officer-2")
    with pytest.raises(AlreadyResolved):
        _resolve(resolved, outcome="dismissed", reasoning=REASONING + " Autre texte.")


def test_reasoning_is_20_to_4000_characters() -> None:
    with pytest.raises(ValueError, match="reasoning"):
        _resolve(_open(), reasoning="non.")
