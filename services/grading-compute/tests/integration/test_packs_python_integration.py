"""Python-interface packs, run in the real sandbox: reference validates every criterion, weak is rejected
on the right criteria with explanations, and grading the same archive twice gives the same outcome."""

from __future__ import annotations

import shutil

import pytest

from certifia_grading.adapters.sandbox import BwrapSandbox, UnsandboxedRunner
from certifia_grading.domain import Grader
from certifia_grading.domain.testing import sample_submission

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"),
]
ENGINE = Grader(sandbox=BwrapSandbox())
PYTHON_PACKS = [p.id for p in ENGINE.list_packs() if p.interface == "python"]
WEAK_REJECTS = {
    "b2_data_cleaning": {"2.A1.C1.E1", "2.A1.C1.E2", "2.A1.C2.E3", "2.A1.C4.E5", "2.A1.C5.E6"},
    "b1_bias_mitigation": {"1.A4.C7.E4"},
    "b2_dimension_reduction": {"2.A2.C2.E2"},
    "b2_timeseries_gaps": {"2.A1.C2.E4"},
    "b2_text_preparation": {"2.A2.C3.E3", "2.A2.C3.E4"},
    "b2_anomaly_detection": {"2.A3.C2.E2", "2.A3.C2.E3", "2.A3.C3.E4"},
    "b5b_inference_cache": {"5B.A4.C5.E5"},
}


@pytest.mark.parametrize("pack_id", PYTHON_PACKS)
def test_reference_submission_validates_everything_reproducibly(pack_id: str) -> None:
    archive = sample_submission(ENGINE, pack_id, "reference")
    outcome = ENGINE.grade(pack_id, archive)
    assert outcome.failed_reason is None, outcome.logs
    assert {c.criterion_id: c.verdict for c in outcome.criteria} == dict.fromkeys(
        ENGINE.pack(pack_id).criteria, "validated"
    )
    again = Grader(sandbox=BwrapSandbox()).grade(pack_id, archive)
    assert again.reproducible_view() == outcome.reproducible_view()


@pytest.mark.parametrize("pack_id", PYTHON_PACKS)
def test_weak_submission_is_rejected_on_the_right_criteria(pack_id: str) -> None:
    outcome = ENGINE.grade(pack_id, sample_submission(ENGINE, pack_id, "weak"))
    assert outcome.failed_reason is None, outcome.logs
    rejected = {c.criterion_id for c in outcome.criteria if c.verdict == "rejected"}
    assert rejected == WEAK_REJECTS[pack_id] and rejected  # every python pack declares what its weak misses
    for verdict in outcome.criteria:
        if verdict.verdict == "rejected":
            assert "non atteint" in verdict.explanation and verdict.metric


def test_unsandboxed_mode_gives_the_same_verdicts() -> None:
    archive = sample_submission(ENGINE, "b1_bias_mitigation", "reference")
    sandboxed = ENGINE.grade("b1_bias_mitigation", archive)
    plain = Grader(sandbox=UnsandboxedRunner()).grade("b1_bias_mitigation", archive)
    assert plain.reproducible_view() == sandboxed.reproducible_view()
