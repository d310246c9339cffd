"""A grading pack's declaration (``pack.yaml``) and its trusted Python module (``pack.py``).

A pack module defines::

    def build(seed: int) -> Dataset                      # deterministic; labels only in Dataset.hidden
    def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]

and optionally ``public(seed) -> dict`` (the training data a candidate is given).

``seed`` is the effective seed derived from the deployment's grading secret (domain.hidden), never the
published ``dataset.seed``: everything hidden derives from it. A pack whose candidates train offline on
data they rebuild themselves declares ``build(seed, public_seed=None)`` and receives the published seed as
``public_seed`` for that public part alone (None: one seed for both, as a plain ``build(seed)`` call does).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, Protocol

import numpy as np
import yaml

from certifia_grading.domain import safe_io
from certifia_grading.domain.model import Comparator, Interface, PackError, PackInfo
from certifia_grading.domain.sandbox import Limits

_ID = re.compile(r"^[a-z0-9][a-z0-9_]{2,63}$")
_FORMATS = ("csv", "npy", "json")
# What a submission archive may hold when pack.yaml says nothing (``submission: {allow: [...]}``), besides
# the entry point itself (solution.py, or the model file): source and plain-text data only, never
# bytecode, compiled code or binaries the jury cannot read (domain.archive refuses those in every pack).
DEFAULT_SUBMISSION_ALLOW = (
    "*.py", "*.txt", "*.md", "*.json", "*.csv", "*.yaml", "*.toml", "requirements.txt",
)  # fmt: skip


@dataclass(frozen=True)
class Check:
    metric: str
    comparator: Comparator
    threshold: float
    reason: str  # why this threshold

    def passes(self, value: float | None) -> bool:
        if value is None or not np.isfinite(value):
            return False
        if self.comparator == ">=":
            return value >= self.threshold
        if self.comparator == "<=":
            return value <= self.threshold
        return abs(value - self.threshold) <= 1e-9


@dataclass(frozen=True)
class CriterionSpec:
    id: str
    checks: tuple[Check, ...]
    summary: str  # what is measured, in a sentence
    # what the criterion asks that the automated checks do not measure (a jury judges it): said in every
    # explanation, so that no one takes the automated verdict for more than it is
    not_measured: str = ""


@dataclass(frozen=True)
class FileSpec:
    name: str
    format: Literal["csv", "npy", "json"]
    # what an honest output of this pack comes near, checked from the header before parsing; a pack can
    # only tighten the grader's own caps (safe_io), never loosen them; None: the grader's caps
    max_columns: int | None = None  # csv
    max_elements: int | None = None  # npy

    def parse_bounds(self) -> dict[str, int]:
        return {
            "max_columns": self.max_columns or safe_io.MAX_CSV_COLUMNS,
            "max_elements": self.max_elements or safe_io.MAX_NPY_ELEMENTS,
        }


@dataclass(frozen=True)
class InterfaceSpec:
    kind: Interface
    signature: str
    module: str = "solution"  # python: solution.py at the archive root
    function: str = ""
    inputs: tuple[FileSpec, ...] = ()
    outputs: tuple[FileSpec, ...] = ()
    model_file: str = "model.onnx"  # onnx: the model at the archive root
    model_inputs: dict[str, str] = field(default_factory=dict)  # name -> "float32[N,30]"
    model_outputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PackSpec:
    id: str
    version: str
    title: str
    evaluation_id: str | None
    interface: InterfaceSpec
    criteria: tuple[CriterionSpec, ...]
    seed: int
    limits: Limits
    volatile_metrics: tuple[str, ...]
    folder: Path
    submission_allow: tuple[str, ...] = DEFAULT_SUBMISSION_ALLOW  # archive members (PurePath.match)

    @property
    def submission_patterns(self) -> tuple[str, ...]:
        """The allow-list plus the entry point itself (``solution.py`` or the model file)."""
        itf = self.interface
        return (*self.submission_allow, f"{itf.module}.py" if itf.kind == "python" else itf.model_file)

    def info(self) -> PackInfo:
        return PackInfo(
            id=self.id,
            version=self.version,
            interface=self.interface.kind,
            criteria=tuple(c.id for c in self.criteria),
            evaluation_id=self.evaluation_id,
            title=self.title,
            dataset_seed=self.seed,
            entry_point=self.interface.signature,
            limits={k: float(v) for k, v in self.limits.__dict__.items()},
        )


@dataclass
class Dataset:
    """``inputs`` go to the candidate's code (or model); ``hidden`` (labels, ground truth) never do."""

    inputs: dict[str, Any]
    hidden: dict[str, Any]
    public: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    outputs: dict[str, Any] = field(default_factory=dict)  # python packs: parsed outputs
    model_bytes: bytes = b""  # onnx packs: the checked model
    files: tuple[str, ...] = ()


class Predictor(Protocol):
    def predict(self, model_bytes: bytes, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class ScoreContext:
    """What a pack's scorer gets: ``inference`` runs the candidate's model (sandboxed onnxruntime, or a
    model server once the model passed the sandboxed preflight); ``timer`` times models in the sandbox
    (``latency_p50``), None only in the unsandboxed benchmark comparison."""

    inference: Predictor
    spec: PackSpec
    timer: Any = None


class PackModule(Protocol):
    def build(self, seed: int) -> Dataset: ...
    def score(
        self, submission: Submission, dataset: Dataset, ctx: ScoreContext
    ) -> dict[str, float | None]: ...


def _files(items: Any, what: str) -> tuple[FileSpec, ...]:
    out = []
    for item in items or ():
        if item.get("format") not in _FORMATS or not re.match(r"^[a-z][a-z0-9_]*$", str(item.get("name"))):
            raise PackError(f"{what}: bad entry {item!r} (name [a-z0-9_], format one of {_FORMATS})")
        unknown = set(item) - {"name", "format", "max_columns", "max_elements"}
        if unknown:
            raise PackError(f"{what}: {item['name']}: unknown keys {sorted(unknown)}")
        bounds = {k: _bound(item, k, cap, what) for k, cap in _CAPS.items() if k in item}
        if bounds.get("max_columns") and item["format"] != "csv":
            raise PackError(f"{what}: {item['name']}: max_columns is for csv outputs")
        if bounds.get("max_elements") and item["format"] != "npy":
            raise PackError(f"{what}: {item['name']}: max_elements is for npy outputs")
        out.append(FileSpec(name=item["name"], format=item["format"], **bounds))
    return tuple(out)


_CAPS = {"max_columns": safe_io.MAX_CSV_COLUMNS, "max_elements": safe_io.MAX_NPY_ELEMENTS}


def _bound(item: dict[str, Any], key: str, cap: int, what: str) -> int:
    value = item[key]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= cap:
        raise PackError(f"{what}: {item['name']}: {key} must be an integer in [1, {cap}] (got {value!r})")
    return value


def _allow(section: Any, pid: str) -> tuple[str, ...]:
    if not isinstance(section, dict | None):
        raise PackError(f"{pid}: submission must be a mapping (allow: [glob patterns])")
    items = (section or {}).get("allow")
    if items is None:
        return DEFAULT_SUBMISSION_ALLOW
    if not isinstance(items, list) or not items or len(items) > 64:
        raise PackError(f"{pid}: submission.allow must be a list of 1 to 64 glob patterns")
    for item in items:
        if not isinstance(item, str) or not 0 < len(item) <= 200 or item.startswith("/") or ".." in item:
            raise PackError(f"{pid}: submission.allow: bad pattern {item!r} (relative, no '..')")
    return tuple(items)


def parse_spec(folder: Path) -> PackSpec:
    try:
        raw = yaml.safe_load((folder / "pack.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PackError(f"{folder.name}: cannot read pack.yaml: {exc}") from None
    try:
        pid = str(raw["id"])
        if not _ID.match(pid) or pid != folder.name:
            raise PackError(f"{folder.name}: id {pid!r} must match the folder name and [a-z0-9_]")
        itf = raw["interface"]
        interface = InterfaceSpec(
            kind=itf["kind"],
            signature=str(itf["signature"]).strip(),
            module=itf.get("module", "solution"),
            function=itf.get("function", ""),
            inputs=_files(itf.get("inputs"), f"{pid} inputs"),
            outputs=_files(itf.get("outputs"), f"{pid} outputs"),
            model_file=itf.get("model_file", "model.onnx"),
            model_inputs=dict(itf.get("model_inputs") or {}),
            model_outputs=dict(itf.get("model_outputs") or {}),
        )
        if interface.kind not in ("python", "onnx"):
            raise PackError(f"{pid}: interface.kind must be python or onnx")
        if interface.kind == "python" and not (interface.function and interface.outputs):
            raise PackError(f"{pid}: a python interface needs function and outputs")
        criteria = tuple(
            CriterionSpec(
                id=str(c["id"]),
                summary=str(c["summary"]).strip(),
                not_measured=str(c.get("not_measured") or "").strip(),
                checks=tuple(
                    Check(
                        metric=str(k["metric"]),
                        comparator=k["comparator"],
                        threshold=float(k["threshold"]),
                        reason=str(k["reason"]).strip(),
                    )
                    for k in c["checks"]
                ),
            )
            for c in raw["criteria"]
        )
        spec = PackSpec(
            id=pid,
            version=str(raw["version"]),
            title=str(raw["title"]),
            evaluation_id=raw.get("evaluation_id"),
            interface=interface,
            criteria=criteria,
            seed=int(raw["dataset"]["seed"]),
            limits=Limits.from_mapping(raw.get("limits") or {}),
            volatile_metrics=tuple(raw.get("volatile_metrics") or ()),
            folder=folder,
            submission_allow=_allow(raw.get("submission"), pid),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, PackError):
            raise
        raise PackError(f"{folder.name}: invalid pack.yaml: {type(exc).__name__}: {exc}") from None
    for crit in spec.criteria:
        if not crit.checks:
            raise PackError(f"{pid}: criterion {crit.id} has no checks")
        for check in crit.checks:
            if check.comparator not in (">=", "<=", "=="):
                raise PackError(f"{pid}: criterion {crit.id}: bad comparator {check.comparator!r}")
            if not check.reason:
                raise PackError(f"{pid}: criterion {crit.id}: every threshold needs a reason")
    if len({c.id for c in spec.criteria}) != len(spec.criteria):
        raise PackError(f"{pid}: a criterion id appears twice")
    return spec


_MODULES: dict[str, ModuleType] = {}


def load_module(spec: PackSpec) -> PackModule:
    """Import ``pack.py`` of the pack (cached per process, keyed by folder and version)."""
    key = f"{spec.folder.resolve()}@{spec.version}"
    module = _MODULES.get(key)
    if module is None:
        name = f"certifia_pack_{spec.id}_{abs(hash(key)) % 10**8}"
        mspec = importlib.util.spec_from_file_location(name, spec.folder / "pack.py")
        if mspec is None or mspec.loader is None:
            raise PackError(f"{spec.id}: pack.py not found")
        module = importlib.util.module_from_spec(mspec)
        sys.modules[name] = module
        mspec.loader.exec_module(module)
        for attr in ("build", "score"):
            if not callable(getattr(module, attr, None)):
                raise PackError(f"{spec.id}: pack.py must define {attr}()")
        _MODULES[key] = module
    return module  # type: ignore[return-value]


def check_against_referential(spec: PackSpec) -> None:
    """Every criterion id (and the evaluation id) must exist in the certification referential."""
    from certifia_shared.referential import ReferentialLookupError, load_referential

    ref = load_referential()
    problems = []
    for crit in spec.criteria:
        try:
            ref.criterion(crit.id)
        except ReferentialLookupError as exc:
            problems.append(str(exc))
    if spec.evaluation_id:
        try:
            ref.evaluation(spec.evaluation_id)
        except ReferentialLookupError as exc:
            problems.append(str(exc))
    if problems:
        raise PackError(f"{spec.id}: " + "; ".join(problems))
