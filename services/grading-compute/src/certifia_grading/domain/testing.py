"""Helpers for tests and the benchmark: zip a folder, build a pack's reference / weak submission."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

from certifia_grading.domain.grader import Grader


def zip_files(files: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            zf.writestr(info, data.encode() if isinstance(data, str) else data)
    return buf.getvalue()


def zip_folder(folder: Path) -> bytes:
    files: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.name != "make_model.py":
            files[str(path.relative_to(folder))] = path.read_bytes()
    return zip_files(files)


def sample_submission(grader: Grader, pack_id: str, which: str = "reference") -> bytes:
    """The archive of a pack's ``reference/`` or ``weak/`` submission (models built from ``make_model.py``)."""
    folder = grader.spec(pack_id).folder / which
    maker = folder / "make_model.py"
    if not maker.is_file():
        return zip_folder(folder)
    spec = importlib.util.spec_from_file_location(f"certifia_make_{pack_id}_{which}", maker)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    files: dict[str, bytes | str] = dict(module.build(grader.dataset(pack_id).public))
    return zip_files(files)


DOUBLING_PACK_PY = """
import numpy as np
from certifia_grading.domain.spec import Dataset
from certifia_grading.packs.common import as_vector

def build(seed):
    x = np.arange(10)
    return Dataset(inputs={"numbers": x}, hidden={"y": 2 * x})

def score(submission, dataset, ctx):
    y = dataset.hidden["y"]
    return {"exact": float((as_vector(submission.outputs["doubled"], len(y), "doubled") == y).all())}
"""


def doubling_pack_yaml(pack_id: str, limits: str, *, title: str = "probe pack", extra: str = "") -> str:
    """The pack.yaml of a probe pack: ``solve(numbers)`` must return the numbers doubled (one criterion)."""
    return f"""
id: {pack_id}
version: "0.0.1"
title: "{title}"
interface:
  kind: python
  function: solve
  signature: "solve(numbers: numpy.ndarray) -> numpy.ndarray"
  inputs: [{{name: numbers, format: npy}}]
  outputs: [{{name: doubled, format: npy}}]
dataset: {{seed: 1}}
limits: {{{limits}}}
{extra}
criteria:
  - id: "2.A1.C1.E1"
    summary: "probe"
    checks: [{{metric: exact, comparator: "==", threshold: 1, reason: "every value doubled"}}]
"""


def write_doubling_pack(
    packs_dir: Path, pack_id: str, limits: str, *, title: str = "probe pack", extra: str = ""
) -> Path:
    """A probe pack in ``packs_dir/pack_id`` (the hostile, limits and entry-point suites grade against it)."""
    folder = packs_dir / pack_id
    folder.mkdir(parents=True)
    (folder / "pack.yaml").write_text(doubling_pack_yaml(pack_id, limits, title=title, extra=extra))
    (folder / "pack.py").write_text(DOUBLING_PACK_PY)
    return folder
