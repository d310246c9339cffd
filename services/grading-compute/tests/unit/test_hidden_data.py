"""Hidden data that is hidden (issue 12, item 3), on the real sandbox.

Measured before: b2_supervised_onnx, b5a_digits_vision and b5b_model_compression split scikit-learn's
bundled datasets with the seed ``/packs`` published, so a lookup table memorising the public dataset
validated every criterion at 1.0; the synthetic packs were deterministic from that seed and the public
pack source. Now every hidden set, perturbation and synthetic dataset derives from the deployment's
grading secret (``domain.hidden``), a public row is never a hidden row, ``/packs`` publishes a commitment
to the derived seed instead of the seed, and an auditor holding the secret reproduces a verdict.

Here, what runs in this process (no sandbox, no child process); tests/integration/test_hidden_data.py has the rest.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.datasets import load_breast_cancer, load_digits

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.spec import load_module

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

SKLEARN_PACKS = ("b2_supervised_onnx", "b5a_digits_vision", "b5b_model_compression")
SECRET_A = "audit-secret-a-" + "a" * 40
ENGINE = Grader(sandbox=BwrapSandbox())


def public_dataset(pack_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The FULL public dataset the pack draws from, as a candidate loads it (labels as the pack encodes them)."""
    if pack_id == "b2_supervised_onnx":
        data = load_breast_cancer()
        return data.data.astype(np.float32), (1 - data.target).astype(np.int64)
    data = load_digits()
    return data.data.astype(np.float32), data.target.astype(np.int64)


def same_data(left: dict[str, Any], right: dict[str, Any]) -> bool:
    if set(left) != set(right):
        return False
    for key in left:
        a, b = left[key], right[key]
        if hasattr(a, "equals"):  # a pandas frame (NaN equal to NaN)
            if not a.equals(b):
                return False
        elif isinstance(a, np.ndarray):
            if not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                return False
        elif json.dumps(left[key], sort_keys=True, default=str) != json.dumps(
            right[key], sort_keys=True, default=str
        ):
            return False
    return True


@pytest.mark.parametrize("pack_id", SKLEARN_PACKS)
def test_no_hidden_row_is_a_row_of_the_public_dataset(pack_id: str) -> None:
    x, _y = public_dataset(pack_id)
    hidden = np.asarray(ENGINE.dataset(pack_id).inputs["X"], dtype=np.float32)
    # the distance (max over features) from each hidden row to its closest public row
    closest = np.array([np.abs(x - row).max(axis=1).min() for row in hidden])
    assert closest.min() > 1e-3, f"{int(np.sum(closest <= 1e-3))} hidden rows are public rows"


def test_synthetic_packs_are_not_derivable_from_the_published_seed_and_source() -> None:
    for info in ENGINE.list_packs():
        spec = ENGINE.spec(info.id)
        from_public = load_module(spec).build(spec.seed)  # what anyone holding the pack source computes
        assert not same_data(from_public.inputs, ENGINE.dataset(info.id).inputs), info.id


# -- the secret ------------------------------------------------------------------------------------------
def test_the_service_refuses_to_start_without_a_secret_outside_development(monkeypatch: Any) -> None:
    from certifia_grading.config import Settings

    monkeypatch.delenv("GRADING_SECRET", raising=False)
    with pytest.raises(ValidationError, match="GRADING_SECRET is not set"):
        Settings()
    with pytest.raises(ValidationError, match="at least 32") as refused:
        Settings(grading_secret="short-secret")
    assert "short-secret" not in str(refused.value)
    development = Settings(grading_secret_insecure_development=True)
    assert development.grading_secret_bytes() == Grader.development_secret()
    chosen = Settings(grading_secret=SECRET_A)
    assert chosen.grading_secret_bytes() == SECRET_A.encode()
    assert SECRET_A not in repr(chosen) and SECRET_A not in str(chosen.model_dump())
