"""b2_text_preparation: the generated reviews, the scorer's measures on hand-made outputs (and their agreement
with scikit-learn), gaming strategies, and the reference / weak submissions graded in the real sandbox.

Here, what runs the sandbox or a child process; tests/unit/test_pack_b2_text_preparation.py has the rest.
"""

from __future__ import annotations

import importlib.util
import shutil
from types import ModuleType
from typing import Any

import pytest

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.spec import ScoreContext, Submission, load_module
from certifia_grading.domain.testing import sample_submission, zip_files
from certifia_grading.domain.verdicts import judge

PACK = "b2_text_preparation"
E3, E4 = "2.A2.C3.E3", "2.A2.C3.E4"
ENGINE = Grader(sandbox=BwrapSandbox())
SPEC = ENGINE.spec(PACK)
DATA = ENGINE.dataset(PACK)
needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
)


def _solution(which: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tp_{which}", SPEC.folder / which / "solution.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _solution("reference").prepare(**DATA.inputs)


def _metrics(tokens: Any) -> dict[str, float | None]:
    ctx = ScoreContext(inference=ENGINE.inference, spec=SPEC)
    return load_module(SPEC).score(Submission(outputs={"tokens": tokens}), DATA, ctx)


def _failing(metrics: dict[str, float | None]) -> dict[str, set[str]]:
    """criterion -> the metrics whose check fails (criteria with none left out)."""
    out = {}
    for crit in SPEC.criteria:
        verdict = judge(crit, metrics)
        failing = {c.metric for c in crit.checks if not c.passes(metrics.get(c.metric))}
        assert (verdict.verdict == "rejected") == bool(failing)
        if failing:
            assert "non atteint" in verdict.explanation
            out[crit.id] = failing
    return out


@pytest.mark.integration
@needs_bwrap
def test_reference_validates_everything_in_the_sandbox_reproducibly() -> None:
    archive = sample_submission(ENGINE, PACK, "reference")
    outcome = ENGINE.grade(PACK, archive)
    assert outcome.failed_reason is None, outcome.logs
    assert {c.criterion_id: c.verdict for c in outcome.criteria} == {E3: "validated", E4: "validated"}
    assert outcome.metrics == {k: round(v, 6) for k, v in _metrics(REFERENCE).items() if v is not None}
    again = Grader(sandbox=BwrapSandbox()).grade(PACK, archive)
    assert again.reproducible_view() == outcome.reproducible_view()


@pytest.mark.integration
@needs_bwrap
def test_weak_is_rejected_on_both_criteria_with_explanations() -> None:
    outcome = ENGINE.grade(PACK, sample_submission(ENGINE, PACK, "weak"))
    assert outcome.failed_reason is None, outcome.logs
    verdicts = {c.criterion_id: c for c in outcome.criteria}
    assert {k: v.verdict for k, v in verdicts.items()} == {E3: "rejected", E4: "rejected"}
    assert verdicts[E3].metric == "token_form_rate" and verdicts[E4].metric == "variant_normalisation"
    assert all("non atteint" in v.explanation for v in verdicts.values())
    assert _failing(outcome.metrics) == {
        E3: {"token_form_rate", "noise_removed"},
        E4: {"variant_normalisation", "synonym_normalisation", "term_purity", "stopword_share"},
    }


@pytest.mark.integration
@needs_bwrap
def test_a_malformed_output_fails_the_grading_with_its_reason() -> None:
    archive = zip_files({"solution.py": "def prepare(reviews, stopwords, synonyms):\n    return [['ok']]\n"})
    outcome = ENGINE.grade(PACK, archive)
    assert outcome.criteria == () and outcome.failed_reason
    assert "must be a list of 400 lists of strings" in outcome.failed_reason
