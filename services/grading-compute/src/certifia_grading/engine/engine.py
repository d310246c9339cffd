"""GradingEngine: packs in, verdicts out. Deterministic, callable in a fresh process, never raises for a
bad submission (the outcome's ``failed_reason`` says why it could not be graded)."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from pathlib import Path
from typing import Any

from certifia_grading.adapters.sandbox import BwrapSandbox, SandboxUnavailable, UnsandboxedRunner
from certifia_grading.engine import archive, execution
from certifia_grading.engine.inference import InferenceBackend, OnnxRuntimeBackend, check_onnx_model
from certifia_grading.engine.model import GradingOutcome, PackError, PackInfo, SubmissionError, UnknownPack
from certifia_grading.engine.spec import (
    Dataset,
    PackSpec,
    ScoreContext,
    Submission,
    check_against_referential,
    load_module,
    parse_spec,
)
from certifia_grading.engine.verdicts import judge

log = logging.getLogger(__name__)
DEFAULT_PACKS_DIR = Path(__file__).resolve().parent.parent / "packs"
_DATASETS: dict[tuple[str, str, str, int], Dataset] = {}


def _clean_metric(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, 6) if math.isfinite(number) else None


class GradingEngine:
    def __init__(
        self,
        packs_dir: Path | None = None,
        *,
        sandbox: bool = True,
        inference: InferenceBackend | None = None,
    ) -> None:
        self.packs_dir = Path(packs_dir) if packs_dir else DEFAULT_PACKS_DIR
        self.sandbox = sandbox
        self.inference: InferenceBackend = inference or OnnxRuntimeBackend()
        self._specs: dict[str, PackSpec] | None = None

    # -- packs -----------------------------------------------------------------------------------------
    def _load_specs(self) -> dict[str, PackSpec]:
        if self._specs is None:
            specs = {}
            for folder in sorted(p for p in self.packs_dir.iterdir() if (p / "pack.yaml").is_file()):
                spec = parse_spec(folder)
                check_against_referential(spec)
                specs[spec.id] = spec
            self._specs = specs
        return self._specs

    def spec(self, pack_id: str) -> PackSpec:
        try:
            return self._load_specs()[pack_id]
        except KeyError:
            raise UnknownPack(f"no grading pack {pack_id!r}") from None

    def list_packs(self) -> list[PackInfo]:
        return [s.info() for s in self._load_specs().values()]

    def pack(self, pack_id: str) -> PackInfo:
        return self.spec(pack_id).info()

    def dataset(self, pack_id: str) -> Dataset:
        """The pack's reference dataset (built once per process; deterministic from the pack's seed)."""
        spec = self.spec(pack_id)
        key = (str(spec.folder), spec.id, spec.version, spec.seed)
        if key not in _DATASETS:
            _DATASETS[key] = load_module(spec).build(spec.seed)
        return _DATASETS[key]

    # -- grading ---------------------------------------------------------------------------------------
    def grade(self, pack_id: str, archive_bytes: bytes) -> GradingOutcome:
        started = time.monotonic()
        spec = self.spec(pack_id)  # an unknown pack is the caller's error: UnknownPack
        digest = hashlib.sha256(archive_bytes).hexdigest()

        def outcome(**kw: Any) -> GradingOutcome:
            return GradingOutcome(
                pack_id=spec.id,
                pack_version=spec.version,
                dataset_seed=spec.seed,
                submission_digest=digest,
                duration_s=round(time.monotonic() - started, 3),
                volatile_metrics=spec.volatile_metrics,
                **kw,
            )

        logs = ""
        try:
            dataset = self.dataset(pack_id)
            submission, logs = self._execute(spec, dataset, archive_bytes)
            ctx = ScoreContext(inference=self.inference, spec=spec)
            raw = load_module(spec).score(submission, dataset, ctx)
            metrics = {k: _clean_metric(v) for k, v in sorted(raw.items())}
        except SubmissionError as exc:
            return outcome(criteria=(), metrics={}, failed_reason=str(exc), logs=logs)
        except SandboxUnavailable as exc:
            return outcome(criteria=(), metrics={}, failed_reason=f"sandbox unavailable: {exc}")
        except (PackError, MemoryError, Exception) as exc:  # never raise for a submission
            log.exception("grading %s failed", pack_id)
            reason = f"could not be graded: {type(exc).__name__}: {exc}"[:500]
            return outcome(criteria=(), metrics={}, failed_reason=reason, logs=logs)
        verdicts = tuple(judge(c, metrics) for c in spec.criteria)
        return outcome(criteria=verdicts, metrics=metrics, logs=logs)

    def _execute(self, spec: PackSpec, dataset: Dataset, archive_bytes: bytes) -> tuple[Submission, str]:
        if spec.interface.kind == "onnx":
            members = archive.read_members(archive_bytes)
            model = members.get(spec.interface.model_file)
            if model is None:
                raise SubmissionError(f"the archive has no {spec.interface.model_file} at its root")
            check_onnx_model(model, spec.interface.model_inputs)
            return Submission(model_bytes=model, files=tuple(sorted(members))), ""
        runner: BwrapSandbox | UnsandboxedRunner = BwrapSandbox() if self.sandbox else UnsandboxedRunner()
        runner.check()
        outputs, result, names = execution.run_python(spec, dataset, archive_bytes, runner)
        return Submission(outputs=outputs, files=names), result.stderr[-4000:]
