"""The grading engine: packs (versioned folders), sandboxed candidate code, trusted scorers, verdicts.

>>> engine = GradingEngine()
>>> [p.id for p in engine.list_packs()]            # doctest: +SKIP
>>> outcome = engine.grade("b2_data_cleaning", zip_bytes)   # doctest: +SKIP
"""

from certifia_grading.engine.engine import DEFAULT_PACKS_DIR, GradingEngine
from certifia_grading.engine.inference import InferenceBackend, OnnxRuntimeBackend, check_onnx_model
from certifia_grading.engine.model import (
    CriterionVerdict,
    GradingOutcome,
    PackError,
    PackInfo,
    SubmissionError,
    UnknownPack,
)
from certifia_grading.engine.spec import Dataset, PackSpec, ScoreContext, Submission

__all__ = [
    "DEFAULT_PACKS_DIR",
    "CriterionVerdict",
    "Dataset",
    "GradingEngine",
    "GradingOutcome",
    "InferenceBackend",
    "OnnxRuntimeBackend",
    "PackError",
    "PackInfo",
    "PackSpec",
    "ScoreContext",
    "Submission",
    "SubmissionError",
    "UnknownPack",
    "check_onnx_model",
]
