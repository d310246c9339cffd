"""What a grading produces: per-criterion verdicts, the outcome of one grading, a pack's public card."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Comparator = Literal[">=", "<=", "=="]
Interface = Literal["python", "onnx"]


@dataclass(frozen=True)
class CriterionVerdict:
    criterion_id: str  # global id from the referential, e.g. "2.A1.C1.E1"
    verdict: Literal["validated", "rejected"]
    metric: str
    value: float | None
    threshold: float
    comparator: Comparator
    explanation: str  # a sentence a candidate can read
    # every check of the criterion ({metric, value, threshold, comparator, passed}); the fields above name
    # only the first failing one (or the first)
    checks: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class GradingOutcome:
    pack_id: str
    pack_version: str
    dataset_seed: int
    submission_digest: str  # sha256 hex of the archive bytes
    criteria: tuple[CriterionVerdict, ...]
    metrics: dict[str, float | None]
    duration_s: float
    failed_reason: str | None = None  # set (criteria empty) when the submission could not be graded
    volatile_metrics: tuple[str, ...] = ()  # wall-clock measurements (latency): vary run to run
    logs: str = ""  # the tail of the candidate code's stderr (capped), to help the candidate
    # SHA-256 commitment to the seed the hidden data derived from (domain.hidden); the seed stays secret
    dataset_commitment: str = ""
    # whose failure a failed_reason is: "submission" (counts as a graded attempt) or "infrastructure" (the
    # grading service failed: it does not count against the candidate)
    failure_cause: str = "submission"
    # the candidate's extra-time factor (an accommodation) applied to the sandbox's CPU and wall-clock limits
    time_factor: float = 1.0

    @property
    def failed(self) -> bool:
        return self.failed_reason is not None

    def reproducible_view(self) -> dict[str, Any]:
        """Everything that must be identical when the same archive is graded again."""
        data = asdict(self)
        for key in ("duration_s", "logs", "volatile_metrics"):
            data.pop(key)
        data["metrics"] = {k: v for k, v in self.metrics.items() if k not in self.volatile_metrics}
        volatile = set(self.volatile_metrics)
        # an explanation quotes every checked value ("latency_ratio = 0.0453 (attendu ..."): mask the volatile ones
        quoted = re.compile(rf"\b({'|'.join(map(re.escape, sorted(volatile)))}) = \S+") if volatile else None
        criteria = []
        for c in data["criteria"]:
            if c["metric"] in volatile:
                c = {**c, "value": None}
            if quoted:
                c = {**c, "explanation": quoted.sub(r"\1 = …", c["explanation"])}
            c["checks"] = [{**k, "value": None} if k["metric"] in volatile else dict(k) for k in c["checks"]]
            criteria.append(c)
        data["criteria"] = criteria
        return data

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["criteria"] = [{**c, "checks": [dict(k) for k in c["checks"]]} for c in data["criteria"]]
        data["volatile_metrics"] = list(self.volatile_metrics)
        return data


@dataclass(frozen=True)
class PackInfo:
    id: str
    version: str
    interface: Interface
    criteria: tuple[str, ...]
    evaluation_id: str | None
    title: str
    dataset_seed: int = 0  # the public seed (pack.yaml): what candidates rebuild their training data from
    entry_point: str = ""  # the documented candidate signature / model contract
    limits: dict[str, float] = field(default_factory=dict)
    dataset_commitment: str = ""  # to the hidden data's seed, which is never published (domain.hidden)

    def to_public_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "interface": self.interface,
            "criteria": list(self.criteria),
            "evaluation_id": self.evaluation_id,
            "title": self.title,
            "dataset_commitment": self.dataset_commitment,
            "entry_point": self.entry_point,
            "limits": dict(self.limits),
        }


class UnknownPack(KeyError):
    """No grading pack with that id."""

    def __init__(self, pack_id: str) -> None:
        super().__init__(pack_id)
        self.pack_id = pack_id

    def __str__(self) -> str:
        return f"no grading pack {self.pack_id!r}"


class PackError(ValueError):
    """A pack folder is invalid (bad pack.yaml, unknown criterion id, missing module)."""


class SubmissionError(Exception):
    """The submission cannot be graded (bad archive, missing output, wrong shape...): becomes failed_reason."""


class UnknownCandidate(LookupError):
    """No candidate of that id enrolled here (candidate.enrolled comes first, on the candidate's partition)."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id

    def __str__(self) -> str:
        return f"unknown candidate {self.candidate_id!r}"
