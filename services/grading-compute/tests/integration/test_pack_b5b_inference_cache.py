"""b5b_inference_cache: the scorer catches each way of gaming a cache log (unit tests on hand-made logs),
and the reference and weak submissions are graded as expected in the real sandbox (integration).

Here, what runs the sandbox or a child process; tests/unit/test_pack_b5b_inference_cache.py has the rest.
"""

from __future__ import annotations

import importlib.util
import shutil
from typing import Any

import pytest

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.model import CriterionVerdict
from certifia_grading.domain.spec import Dataset, ScoreContext, Submission, load_module
from certifia_grading.domain.testing import sample_submission, zip_files
from certifia_grading.domain.verdicts import judge

PACK = "b5b_inference_cache"
ENGINE = Grader(sandbox=BwrapSandbox())
SPEC = ENGINE.spec(PACK)
MODULE: Any = load_module(SPEC)
DATASET = ENGINE.dataset(PACK)
CTX = ScoreContext(inference=ENGINE.inference, spec=SPEC)
CHECKS = {c.metric: c for c in SPEC.criteria[0].checks}
RULES = ("ttl", "model", "update")
needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
)


def grade(
    log: dict[str, Any], dataset: Dataset = DATASET
) -> tuple[dict[str, float | None], CriterionVerdict]:
    metrics = MODULE.score(Submission(outputs=log), dataset, CTX)
    return metrics, judge(SPEC.criteria[0], metrics)


@pytest.mark.parametrize(("which", "verdict"), [("reference", "validated"), ("weak", "rejected")])
def test_sample_submissions_in_process_without_the_sandbox(which: str, verdict: str) -> None:
    path = SPEC.folder / which / "solution.py"
    spec = importlib.util.spec_from_file_location(f"b5b_{which}_solution", path)
    assert spec and spec.loader
    solution = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(solution)
    log = solution.simulate(DATASET.inputs["trace"].copy(), dict(DATASET.inputs["params"]))
    assert grade(log)[1].verdict == verdict


@pytest.mark.integration
@needs_bwrap
def test_reference_validates_in_the_sandbox_reproducibly() -> None:
    archive = sample_submission(ENGINE, PACK, "reference")
    outcome = ENGINE.grade(PACK, archive)
    assert outcome.failed_reason is None, outcome.logs
    assert [(c.criterion_id, c.verdict) for c in outcome.criteria] == [("5B.A4.C5.E5", "validated")]
    assert outcome.metrics["stale_entry_share"] == 0 and outcome.metrics["peak_occupancy"] == 1.0
    assert outcome.metrics["hit_rate_ratio"] >= CHECKS["hit_rate_ratio"].threshold + 0.1
    again = Grader(sandbox=BwrapSandbox()).grade(PACK, archive)
    assert again.reproducible_view() == outcome.reproducible_view()


@pytest.mark.integration
@needs_bwrap
def test_weak_memo_is_rejected_on_validity_obsolescence_capacity_and_usefulness() -> None:
    outcome = ENGINE.grade(PACK, sample_submission(ENGINE, PACK, "weak"))
    assert outcome.failed_reason is None, outcome.logs
    (verdict,) = outcome.criteria
    assert (verdict.verdict, verdict.metric) == ("rejected", "stale_hits")
    failing = {m for m, check in CHECKS.items() if not check.passes(outcome.metrics[m])}
    assert failing == {"stale_hits", "stale_entry_share", "peak_occupancy", "hit_rate_ratio"}
    assert verdict.explanation.count("non atteint") == len(failing)
    assert all(outcome.metrics[f"stale_hits_{r}"] for r in RULES)  # it breaks all three rules


@pytest.mark.integration
@needs_bwrap
def test_a_malformed_output_in_the_sandbox_fails_with_the_reason() -> None:
    source = (
        "def simulate(trace, params):\n"
        "    n = len(trace)\n"
        "    return {'hits': [0] * n, 'stored': [0] * n, 'removed': 'nothing'}\n"
    )
    outcome = ENGINE.grade(PACK, zip_files({"solution.py": source}))
    assert outcome.failed_reason and "'removed' must be a list" in outcome.failed_reason
    assert outcome.criteria == ()
