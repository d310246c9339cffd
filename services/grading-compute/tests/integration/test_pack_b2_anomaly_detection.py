"""b2_anomaly_detection (2.EV3): the dataset plants each defect with its own hidden truth, the scorer measures
what the criteria state (and agrees with scikit-learn), malformed outputs are refused with a reason, the
reference validates every criterion in the sandbox and the weak attempt is rejected on all three.

Here, what runs the sandbox or a child process; tests/unit/test_pack_b2_anomaly_detection.py has the rest.
"""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from certifia_grading.adapters.sandbox import BwrapSandbox, UnsandboxedRunner
from certifia_grading.domain import Grader
from certifia_grading.domain.execution import run_python
from certifia_grading.domain.spec import Submission, load_module
from certifia_grading.domain.testing import sample_submission
from certifia_grading.domain.verdicts import judge

PACK = "b2_anomaly_detection"
ENGINE = Grader(sandbox=BwrapSandbox())
SPEC = ENGINE.spec(PACK)
MODULE: Any = load_module(SPEC)
DATA = ENGINE.dataset(PACK)
HIDDEN = DATA.hidden
ORDERS: pd.DataFrame = DATA.inputs["orders"]
RULES: dict[str, Any] = DATA.inputs["schema"]["columns"]
E2, E3, E4 = "2.A3.C2.E2", "2.A3.C2.E3", "2.A3.C3.E4"
NEEDS_BWRAP = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
)


def _verdicts(metrics: dict[str, float | None]) -> dict[str, str]:
    return {c.id: judge(c, metrics).verdict for c in SPEC.criteria}


@pytest.fixture(scope="module")
def graded_outputs() -> dict[str, dict[str, Any]]:
    """The reference and weak outputs exactly as the engine parses them (our own code: run without bwrap)."""
    outputs = {}
    for which in ("reference", "weak"):
        out, _result, _files = run_python(
            SPEC, DATA, sample_submission(ENGINE, PACK, which), UnsandboxedRunner()
        )
        outputs[which] = out
    return outputs


# -- reference and weak submissions (sandboxed tests: marked integration, like the shared pack suite) --------------------------------------------------------------------------
def test_reference_and_weak_metrics_agree_with_sklearn(graded_outputs: dict[str, dict[str, Any]]) -> None:
    ev = HIDDEN["evaluated"]
    for which, out in graded_outputs.items():
        metrics = MODULE.score(Submission(outputs=out), DATA, None)
        score, flags = (
            np.asarray(out["anomaly_score"], dtype=float),
            np.asarray(out["out_of_range"], dtype=bool),
        )
        y = HIDDEN["is_anomaly"][ev]
        assert metrics["anomaly_roc_auc"] == pytest.approx(skm.roc_auc_score(y, score[ev])), which
        assert metrics["anomaly_average_precision"] == pytest.approx(
            skm.average_precision_score(y, score[ev])
        )
        assert metrics["out_of_range_precision"] == pytest.approx(
            skm.precision_score(HIDDEN["out_of_range"], flags)
        )
        assert metrics["out_of_range_recall"] == pytest.approx(
            skm.recall_score(HIDDEN["out_of_range"], flags)
        )
        batches = list(HIDDEN["completeness"].index)
        raised = {str(b) for b in out["alerts"]}
        y_true, y_pred = [b in HIDDEN["alerts"] for b in batches], [b in raised for b in batches]
        assert metrics["alert_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, zero_division=0))
    reference = MODULE.score(Submission(outputs=graded_outputs["reference"]), DATA, None)
    weak = MODULE.score(Submission(outputs=graded_outputs["weak"]), DATA, None)
    assert set(_verdicts(reference).values()) == {"validated"}
    assert {k for k, v in _verdicts(weak).items() if v == "rejected"} == {E2, E3, E4}


@pytest.mark.integration
@NEEDS_BWRAP
def test_reference_validates_every_criterion_in_the_sandbox_with_margin_and_reproducibly() -> None:
    archive = sample_submission(ENGINE, PACK, "reference")
    outcome = ENGINE.grade(PACK, archive)
    assert outcome.failed_reason is None, outcome.logs
    assert {c.criterion_id: c.verdict for c in outcome.criteria} == {
        E2: "validated",
        E3: "validated",
        E4: "validated",
    }
    for criterion in SPEC.criteria:
        for check in criterion.checks:
            value = outcome.metrics[check.metric]
            assert value is not None
            gap = value - check.threshold if check.comparator == ">=" else check.threshold - value
            assert gap >= 0.02, (check.metric, value)  # comfortably, not by a hair
    again = Grader(sandbox=BwrapSandbox()).grade(PACK, archive)
    assert again.reproducible_view() == outcome.reproducible_view()


@pytest.mark.integration
@NEEDS_BWRAP
def test_weak_is_rejected_on_the_three_criteria_with_explanations_reproducibly() -> None:
    archive = sample_submission(ENGINE, PACK, "weak")
    outcome = ENGINE.grade(PACK, archive)
    assert outcome.failed_reason is None, outcome.logs
    rejected = {c.criterion_id: c for c in outcome.criteria if c.verdict == "rejected"}
    assert set(rejected) == {E2, E3, E4}
    for verdict in rejected.values():
        assert verdict.explanation.startswith("Rejeté") and "non atteint" in verdict.explanation
        assert verdict.metric in outcome.metrics
    assert (
        Grader(sandbox=BwrapSandbox()).grade(PACK, archive).reproducible_view() == outcome.reproducible_view()
    )
