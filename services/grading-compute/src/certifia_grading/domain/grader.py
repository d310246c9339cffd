"""The grader: packs in, verdicts out. Deterministic, callable in a fresh process, never raises for a
bad submission (the outcome's ``failed_reason`` says why it could not be graded).

>>> grader = Grader(sandbox=BwrapSandbox())        # doctest: +SKIP (the sandbox: an adapter, injected)
>>> [p.id for p in grader.list_packs()]            # doctest: +SKIP
>>> outcome = grader.grade("b2_data_cleaning", zip_bytes)   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import logging
import math
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from certifia_grading.domain import archive, execution, hidden, scoring_process
from certifia_grading.domain.inference import InferenceBackend, OnnxRuntimeBackend, check_onnx_model
from certifia_grading.domain.model import GradingOutcome, PackError, PackInfo, SubmissionError, UnknownPack
from certifia_grading.domain.sandbox import Sandbox, SandboxUnavailable
from certifia_grading.domain.sandboxed_inference import SandboxedOnnxBackend
from certifia_grading.domain.spec import (
    Dataset,
    PackSpec,
    ScoreContext,
    Submission,
    check_against_referential,
    load_module,
    parse_spec,
)
from certifia_grading.domain.verdicts import judge

log = logging.getLogger(__name__)
DEFAULT_PACKS_DIR = Path(__file__).resolve().parent.parent / "packs"
_DATASETS: dict[tuple[str, str, str, int], Dataset] = {}


def _clean_metric(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, 6) if math.isfinite(number) else None


class Grader:
    def __init__(
        self,
        packs_dir: Path | None = None,
        *,
        sandbox: Sandbox,
        inference: InferenceBackend | None = None,
        gpu: bool = False,
        secret: str | bytes | None = None,
    ) -> None:
        """``sandbox``: where candidate code and models run (bubblewrap, injected by bootstrap; an
        unsandboxed runner only for the benchmark's comparison). ``inference``: a model server (Triton)
        that serves candidate models once they passed the sandboxed preflight; None: every model runs in
        the sandbox (or, unsandboxed, in process: the benchmark's comparison only). ``gpu``: sandboxed
        models run with CUDA (a job Ray gave a GPU). ``secret``: the deployment's grading secret, which
        hidden data derives from (domain.hidden); None: ``GRADING_SECRET`` of the environment, else the
        published development secret."""
        self.packs_dir = Path(packs_dir) if packs_dir else DEFAULT_PACKS_DIR
        self.sandbox = sandbox
        self.sandboxed = sandbox.isolated
        self.server = inference
        self.gpu = gpu
        self.inference: InferenceBackend = inference or OnnxRuntimeBackend(gpu=gpu and not self.sandboxed)
        self._specs: dict[str, PackSpec] | None = None
        self._secret = hidden.as_secret(secret)

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
            raise UnknownPack(pack_id) from None

    def list_packs(self) -> list[PackInfo]:
        return [self.pack(pack_id) for pack_id in self._load_specs()]

    def pack(self, pack_id: str) -> PackInfo:
        return dataclasses.replace(self.spec(pack_id).info(), dataset_commitment=self.commitment(pack_id))

    # -- hidden data: derived from the grading secret, never from the published seed alone -------------
    @staticmethod
    def development_secret() -> bytes:
        return hidden.DEVELOPMENT_SECRET

    def _key(self, spec: PackSpec) -> bytes:
        return hidden.derive_key(self._secret, spec.id, spec.version, spec.seed)

    def hidden_seed(self, pack_id: str) -> int:
        """The effective seed of the pack's hidden data: secret, never published or logged."""
        return hidden.effective_seed(self._key(self.spec(pack_id)))

    def commitment(self, pack_id: str) -> str:
        """What is published about the hidden data instead of its seed (domain.hidden)."""
        return hidden.commitment(self._key(self.spec(pack_id)))

    def dataset(self, pack_id: str) -> Dataset:
        """The pack's reference dataset (built once per process; deterministic from the derived seed)."""
        spec = self.spec(pack_id)
        seed = self.hidden_seed(pack_id)
        key = (str(spec.folder), spec.id, spec.version, seed)
        if key not in _DATASETS:
            _DATASETS[key] = _build(load_module(spec).build, seed, spec.seed)
        return _DATASETS[key]

    # -- grading ---------------------------------------------------------------------------------------
    def grade(self, pack_id: str, archive_bytes: bytes, *, time_factor: float = 1.0) -> GradingOutcome:
        """Grade one archive. ``time_factor`` (a candidate's extra-time accommodation, >= 1) multiplies
        the CPU and wall-clock limits of the candidate's run; the scorer's own bounds do not change."""
        started = time.monotonic()
        spec = with_extra_time(self.spec(pack_id), time_factor)  # unknown pack: the caller's UnknownPack
        digest = hashlib.sha256(archive_bytes).hexdigest()

        def outcome(**kw: Any) -> GradingOutcome:
            return GradingOutcome(
                pack_id=spec.id,
                pack_version=spec.version,
                dataset_seed=spec.seed,  # the pack's public seed; the hidden data's seed is never told
                dataset_commitment=self.commitment(pack_id),
                submission_digest=digest,
                duration_s=round(time.monotonic() - started, 3),
                volatile_metrics=spec.volatile_metrics,
                time_factor=time_factor,
                **kw,
            )

        logs = ""
        try:
            dataset = self.dataset(pack_id)
            submission, logs = self._execute(spec, dataset, archive_bytes)
            bounds = scoring_process.ScoringBounds.of(spec.limits)  # the scorer reads hostile outputs
            scorer = load_module(spec).score
            context = self._score_context(spec)
            raw = scoring_process.score_bounded(scorer, submission, dataset, context, bounds)
            metrics = {k: _clean_metric(v) for k, v in sorted(raw.items())}
        except SubmissionError as exc:
            return outcome(criteria=(), metrics={}, failed_reason=str(exc), logs=logs)
        except SandboxUnavailable as exc:
            return outcome(
                criteria=(),
                metrics={},
                failed_reason=f"sandbox unavailable: {exc}",
                failure_cause="infrastructure",
            )
        except (PackError, MemoryError, Exception):  # never raise for a submission
            # the exception's text stays in the log: it may quote host paths or what a model made us read
            incident = uuid.uuid4().hex[:12]
            log.exception("grading %s failed (incident %s)", pack_id, incident)
            reason = f"could not be graded: an internal error, logged as incident {incident}; ask an officer"
            return outcome(
                criteria=(), metrics={}, failed_reason=reason, logs=logs, failure_cause="infrastructure"
            )
        verdicts = tuple(judge(c, metrics) for c in spec.criteria)
        return outcome(criteria=verdicts, metrics=metrics, logs=logs)

    def _sandboxed_models(self, spec: PackSpec) -> SandboxedOnnxBackend:
        self.sandbox.check()
        return SandboxedOnnxBackend(self.sandbox, spec.limits, gpu=self.gpu)

    def _score_context(self, spec: PackSpec) -> ScoreContext:
        if spec.interface.kind != "onnx" or not self.sandboxed:
            return ScoreContext(inference=self.inference, spec=spec)
        sandboxed = self._sandboxed_models(spec)
        return ScoreContext(inference=self.server or sandboxed, spec=spec, timer=sandboxed)

    def _execute(self, spec: PackSpec, dataset: Dataset, archive_bytes: bytes) -> tuple[Submission, str]:
        if spec.interface.kind == "onnx":
            members = archive.read_members(archive_bytes)
            archive.check_layout(members, module=None, allow=spec.submission_patterns)
            model = members.get(spec.interface.model_file)
            if model is None:
                raise SubmissionError(f"the archive has no {spec.interface.model_file} at its root")
            check_onnx_model(model, spec.interface.model_inputs)
            if self.sandboxed and self.server is not None:  # a model server loads only what loaded here
                self._sandboxed_models(spec).preflight(model, _model_feeds(spec, dataset))
            return Submission(model_bytes=model, files=tuple(sorted(members))), ""
        # only the entry point's source runs: nothing shadows it (archive.check_layout)
        members = archive.read_members(archive_bytes)
        archive.check_layout(members, module=spec.interface.module, allow=spec.submission_patterns)
        self.sandbox.check()
        outputs, result, names = execution.run_python(spec, dataset, archive_bytes, self.sandbox)
        return Submission(outputs=outputs, files=names), result.stderr[-4000:]


MAX_TIME_FACTOR = 3.0  # the accommodation contract's maximum (candidate.accommodation_granted)


def with_extra_time(spec: PackSpec, time_factor: float) -> PackSpec:
    """The pack with its CPU and wall-clock limits multiplied by a candidate's extra-time factor (an
    accommodation, décret 2021-389). Memory, processes and output stay as they are."""
    if not 1.0 <= time_factor <= MAX_TIME_FACTOR or not math.isfinite(time_factor):
        raise ValueError(f"time_factor must be within [1, {MAX_TIME_FACTOR:g}], got {time_factor!r}")
    if time_factor == 1.0:
        return spec
    limits = dataclasses.replace(
        spec.limits,
        cpu_seconds=math.ceil(spec.limits.cpu_seconds * time_factor),
        wall_seconds=spec.limits.wall_seconds * time_factor,
    )
    return dataclasses.replace(spec, limits=limits)


def _build(build: Any, seed: int, public_seed: int) -> Dataset:
    """``build(seed)``, or ``build(seed, public_seed=...)`` for a pack whose candidates rebuild their
    training data from the published seed (spec.py)."""
    if "public_seed" in inspect.signature(build).parameters:
        dataset: Dataset = build(seed, public_seed=public_seed)
    else:
        dataset = build(seed)
    return dataset


def _model_feeds(spec: PackSpec, dataset: Dataset) -> dict[str, np.ndarray]:
    """The model's inputs as the pack feeds them (a few rows suffice for the preflight)."""
    feeds = {}
    for name, declared in spec.interface.model_inputs.items():
        dtype = declared.split("[", 1)[0] or "float32"
        feeds[name] = np.asarray(dataset.inputs[name], dtype=dtype)
    return feeds
