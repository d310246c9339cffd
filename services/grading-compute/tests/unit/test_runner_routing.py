"""Which grading jobs go to Ray: every job, except model packs when this process scores through Triton."""

from __future__ import annotations

from typing import Any

import pytest

from certifia_grading.adapters.runner import RayGrader
from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.model import UnknownPack


class RecordingExecutor:
    """Stands in for RayGradingExecutor: records the jobs and runs them here."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, float]] = []
        self.timeouts: list[float | None] = []

    def run(self, fn: Any, *args: Any, num_gpus: float = 0, timeout: float | None = None) -> Any:
        self.jobs.append((args[2], num_gpus))
        self.timeouts.append(timeout)
        return fn(*args)


ENGINE = Grader(sandbox=BwrapSandbox())


def _onnx_pack() -> str:
    return next(p.id for p in ENGINE.list_packs() if p.interface == "onnx")


@pytest.mark.parametrize("model_packs_here", [False, True])
def test_model_packs_stay_in_process_only_when_triton_serves_them(model_packs_here: bool) -> None:
    executor = RecordingExecutor()
    grader = RayGrader(ENGINE, executor, None, True, model_packs_here=model_packs_here)
    pack = _onnx_pack()
    outcome = grader(pack, b"not a zip")
    assert outcome.failed_reason  # graded (and refused) either way
    assert executor.jobs == ([] if model_packs_here else [(pack, 0)])


def test_code_packs_always_go_to_ray() -> None:
    executor = RecordingExecutor()
    grader = RayGrader(ENGINE, executor, None, True, model_packs_here=True)
    code_pack = next(p.id for p in ENGINE.list_packs() if p.interface == "python")
    grader(code_pack, b"not a zip")
    assert [job for job, _ in executor.jobs] == [code_pack]


def test_an_unknown_pack_is_refused_before_any_job() -> None:
    executor = RecordingExecutor()
    with pytest.raises(UnknownPack):
        RayGrader(ENGINE, executor, None, True, model_packs_here=True)("nope", b"")
    assert executor.jobs == []


def test_a_pack_that_asks_for_a_gpu_asks_ray_for_one(tmp_path) -> None:
    import shutil

    pack = next(p for p in ENGINE.list_packs() if p.interface == "python")
    folder = tmp_path / pack.id
    shutil.copytree(ENGINE.spec(pack.id).folder, folder)
    yaml_text = (folder / "pack.yaml").read_text()
    assert "\nlimits: {" in yaml_text  # the packs state their limits inline
    (folder / "pack.yaml").write_text(yaml_text.replace("\nlimits: {", "\nlimits: {gpus: 1, ", 1))
    engine = Grader(tmp_path, sandbox=BwrapSandbox())
    assert engine.pack(pack.id).limits["gpus"] == 1.0
    executor = RecordingExecutor()
    RayGrader(engine, executor, str(tmp_path), True)(pack.id, b"not a zip")
    assert executor.jobs == [(pack.id, 1.0)]
    assert ENGINE.pack(pack.id).limits["gpus"] == 0.0  # the shipped pack asks for none
