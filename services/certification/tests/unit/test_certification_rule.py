"""The certification rule, read from the referential's rule data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from certifia_certification.domain.model import BlocPass, CandidateProgress, Defence, Enrolment
from certifia_certification.domain.rule import evaluate, thesis_required
from certifia_shared.referential import CertificationRule, load_referential

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def rule() -> CertificationRule:
    return load_referential().rule


def progress(
    *,
    path: str | None = "formation",
    option: str | None = "5B",
    blocs: tuple[str, ...] = ("1", "2", "3", "4", "5B"),
    thesis: str | None = "passed",
) -> CandidateProgress:
    p = CandidateProgress(candidate_id="c-1")
    if path is not None:
        p.enrolment = Enrolment("Ada", "Lovelace", "ada@example.org", path, T0)  # type: ignore[arg-type]
    if option is not None:
        p.record_option(option, T0)
    for b in blocs:
        p.record_bloc_pass(BlocPass(b, "assessment", T0, "1.0.0"))
    if thesis is not None:
        p.record_defence(Defence("d-1", "m-1", thesis, T0))  # type: ignore[arg-type]
    return p


def codes(rule: CertificationRule, p: CandidateProgress) -> list[str]:
    return [m.code for m in evaluate(rule, p).missing]


def test_the_rule_comes_from_the_referential(rule: CertificationRule) -> None:
    assert rule.common_blocs == ("1", "2", "3", "4")
    assert rule.option_blocs == ("5A", "5B")
    assert rule.options_required == 1
    assert rule.thesis.required and rule.applies_outside_vae


def test_all_done_gives_the_diploma(rule: CertificationRule) -> None:
    result = evaluate(rule, progress())
    assert result.satisfied
    assert result.blocs == ("1", "2", "3", "4", "5B")
    assert result.thesis_required


def test_missing_bloc_3(rule: CertificationRule) -> None:
    assert codes(rule, progress(blocs=("1", "2", "4", "5B"))) == ["bloc:3"]


def test_option_not_chosen_means_no_diploma_even_with_both_options(rule: CertificationRule) -> None:
    p = progress(option=None, blocs=("1", "2", "3", "4", "5A", "5B"))
    assert codes(rule, p) == ["option"]


def test_passed_5a_but_chose_5b(rule: CertificationRule) -> None:
    result = evaluate(rule, progress(option="5B", blocs=("1", "2", "3", "4", "5A")))
    assert [m.code for m in result.missing] == ["bloc:5B"]
    assert "5A is passed" in result.missing[0].description


def test_both_options_passed_the_chosen_one_counts(rule: CertificationRule) -> None:
    result = evaluate(rule, progress(option="5A", blocs=("1", "2", "3", "4", "5A", "5B")))
    assert result.satisfied
    assert result.blocs == ("1", "2", "3", "4", "5A")


def test_thesis_failed(rule: CertificationRule) -> None:
    assert codes(rule, progress(thesis="failed")) == ["thesis"]


def test_thesis_not_defended(rule: CertificationRule) -> None:
    assert codes(rule, progress(thesis=None)) == ["thesis"]


def test_vae_candidate_needs_no_thesis_but_still_the_blocs(rule: CertificationRule) -> None:
    vae = evaluate(rule, progress(path="vae", thesis=None))
    assert vae.satisfied and not vae.thesis_required
    assert codes(rule, progress(path="vae", thesis=None, blocs=("1", "2", "3", "5B"))) == ["bloc:4"]


def test_unknown_path_requires_the_thesis_and_the_enrolment(rule: CertificationRule) -> None:
    assert thesis_required(rule, None)
    assert codes(rule, progress(path=None, thesis=None)) == ["enrolment", "thesis"]


def test_nothing_yet_lists_everything(rule: CertificationRule) -> None:
    p = CandidateProgress(candidate_id="c-2")
    assert codes(rule, p) == ["enrolment", "bloc:1", "bloc:2", "bloc:3", "bloc:4", "option", "thesis"]


def test_changed_rule_data_changes_the_verdict(rule: CertificationRule) -> None:
    everyone = rule.model_copy(update={"applies_outside_vae": False})
    assert codes(everyone, progress(path="vae", thesis=None)) == ["thesis"]
    two_blocs = rule.model_copy(update={"common_blocs": ("1", "2"), "options_required": 0})
    assert evaluate(two_blocs, progress(option=None, blocs=("1", "2"))).satisfied
    no_thesis = rule.model_copy(update={"thesis": rule.thesis.model_copy(update={"required": False})})
    assert evaluate(no_thesis, progress(thesis=None)).satisfied


def test_a_passed_defence_is_final_and_replaces_a_failed_one() -> None:
    p = CandidateProgress(candidate_id="c-3")
    assert p.record_defence(Defence("d-1", "m-1", "failed", T0))
    assert p.record_defence(Defence("d-2", "m-1", "passed", T0.replace(month=3)))
    assert not p.record_defence(Defence("d-3", "m-1", "failed", T0.replace(month=6)))
    assert p.thesis is not None and p.thesis.defence_id == "d-2"


def test_the_latest_option_choice_wins_whatever_the_arrival_order() -> None:
    p = CandidateProgress(candidate_id="c-4")
    p.record_option("5B", T0.replace(month=5))
    assert not p.record_option("5A", T0.replace(month=2))  # older choice, arrived late
    assert p.option == "5B"


def test_a_bloc_is_passed_once() -> None:
    p = CandidateProgress(candidate_id="c-5")
    assert p.record_bloc_pass(BlocPass("1", "assessment", T0, "1.0.0"))
    assert not p.record_bloc_pass(BlocPass("1", "vae", T0.replace(month=2), "1.0.0"))
    assert p.blocs["1"].via == "assessment"
