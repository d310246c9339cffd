"""grading-compute's domain, the grader: packs (versioned folders), candidate code and models run in an
injected :class:`Sandbox`, trusted scorers, verdicts. Nothing here imports an adapter.

>>> grader = Grader(sandbox=BwrapSandbox())        # doctest: +SKIP (bootstrap injects bubblewrap)
>>> [p.id for p in grader.list_packs()]            # doctest: +SKIP
>>> outcome = grader.grade("b2_data_cleaning", zip_bytes)   # doctest: +SKIP
"""

from certifia_grading.domain.grader import DEFAULT_PACKS_DIR, Grader
from certifia_grading.domain.inference import InferenceBackend, OnnxRuntimeBackend, check_onnx_model
from certifia_grading.domain.model import (
    CriterionVerdict,
    GradingOutcome,
    PackError,
    PackInfo,
    SubmissionError,
    UnknownCandidate,
    UnknownPack,
)
from certifia_grading.domain.sandbox import Limits, Sandbox, SandboxResult, SandboxUnavailable
from certifia_grading.domain.spec import Dataset, PackSpec, ScoreContext, Submission

__all__ = [
    "DEFAULT_PACKS_DIR",
    "CriterionVerdict",
    "Dataset",
    "Grader",
    "GradingOutcome",
    "InferenceBackend",
    "Limits",
    "OnnxRuntimeBackend",
    "PackError",
    "PackInfo",
    "PackSpec",
    "Sandbox",
    "SandboxResult",
    "SandboxUnavailable",
    "ScoreContext",
    "Submission",
    "SubmissionError",
    "UnknownCandidate",
    "UnknownPack",
    "check_onnx_model",
]
