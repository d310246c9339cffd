"""Jury policy: who answers for an automated grading verdict, per evaluation (contracts/referential/
jury_policy.yaml, whose header explains the three policies and the default rule).

``parse_jury_policy`` checks the file against the referential (every evaluation id must exist, every
policy name and deliverable must be known) and resolves one :class:`EvaluationPolicy` per evaluation of the
referential. ``review_reasons`` says why one verdict needs a person: its policy, or a value outside the
evaluation's plausible range. No I/O: the caller reads the file and gives its text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

import yaml

from certifia_shared.referential import Referential

PolicyName = Literal["automated_final", "jury_confirms", "second_reader"]
POLICIES: tuple[PolicyName, ...] = get_args(PolicyName)
ReviewReason = Literal["jury_confirms", "second_reader", "implausible"]
FILE_NAME = "jury_policy.yaml"


class JuryPolicyError(ValueError):
    """The jury policy file is not usable; the message names the entry at fault."""


@dataclass(frozen=True)
class Range:
    min: float | None = None
    max: float | None = None

    def contains(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


@dataclass(frozen=True)
class EvaluationPolicy:
    evaluation_id: str
    policy: PolicyName
    plausible: Mapping[str, Range] = field(default_factory=dict)
    explicit: bool = False  # an entry of `evaluations`, not the default rule


@dataclass(frozen=True)
class JuryPolicy:
    version: str
    evaluations: Mapping[str, EvaluationPolicy]

    def of(self, evaluation_id: str) -> EvaluationPolicy:
        found = self.evaluations.get(evaluation_id)
        if found is None:
            raise JuryPolicyError(f"evaluation {evaluation_id!r} is not in the referential")
        return found


def review_reasons(
    policy: EvaluationPolicy, verdict: Mapping[str, Any], metrics: Mapping[str, Any] | None
) -> list[ReviewReason]:
    """Why the verdict (one item of grading.completed's ``criteria``) needs a person; [] when the automated
    verdict is final. ``metrics``: the report's exact metrics, checked with the verdict's own value."""
    reasons: list[ReviewReason] = []
    if policy.policy != "automated_final":
        reasons.append(policy.policy)
    values = dict(metrics or {})
    if isinstance(verdict.get("metric"), str):
        values[verdict["metric"]] = verdict.get("value")
    for metric, allowed in policy.plausible.items():
        value = values.get(metric)
        if isinstance(value, int | float) and math.isfinite(value) and not allowed.contains(float(value)):
            reasons.append("implausible")
            break
    return reasons


def load_jury_policy(text: str, referential: Referential) -> JuryPolicy:
    """The policy written in ``text`` (the YAML of jury_policy.yaml), checked against ``referential``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise JuryPolicyError(f"not valid YAML: {exc}") from None
    return parse_jury_policy(data, referential)


def parse_jury_policy(data: Any, referential: Referential) -> JuryPolicy:
    if not isinstance(data, Mapping):
        raise JuryPolicyError("the jury policy must be a mapping with version, default and evaluations")
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise JuryPolicyError("version: a semver string is required, e.g. '1.0.0'")
    default = data.get("default") or {}
    known = set(referential.vocabularies.deliverables)
    human = set(_list(default.get("human_deliverables", []), "default.human_deliverables"))
    if unknown := sorted(human - known):
        raise JuryPolicyError(f"default.human_deliverables: unknown deliverables {unknown} (vocabularies)")
    when_human = _policy(default.get("human", "jury_confirms"), "default.human")
    otherwise = _policy(default.get("otherwise", "automated_final"), "default.otherwise")
    entries = data.get("evaluations") or {}
    if not isinstance(entries, Mapping):
        raise JuryPolicyError("evaluations: a mapping from evaluation id to its entry")
    ids = {e.id for e in referential.evaluations}
    if unknown := sorted(set(entries) - ids):
        raise JuryPolicyError(f"evaluations: {unknown} are not evaluations of the referential")
    resolved = {}
    for evaluation in referential.evaluations:
        policy = when_human if human & set(evaluation.deliverables) else otherwise
        entry = entries.get(evaluation.id)
        plausible: dict[str, Range] = {}
        if entry is not None:
            where = f"evaluations.{evaluation.id}"
            if not isinstance(entry, Mapping):
                raise JuryPolicyError(f"{where}: a mapping with policy and/or plausible")
            policy = _policy(entry.get("policy", policy), f"{where}.policy")
            plausible = _plausible(entry.get("plausible") or {}, f"{where}.plausible")
        resolved[evaluation.id] = EvaluationPolicy(evaluation.id, policy, plausible, entry is not None)
    return JuryPolicy(version=version, evaluations=resolved)


def _list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise JuryPolicyError(f"{where}: a list of names")
    return value


def _policy(value: Any, where: str) -> PolicyName:
    if value not in POLICIES:
        raise JuryPolicyError(f"{where}: unknown policy {value!r}; one of {', '.join(POLICIES)}")
    return cast(PolicyName, value)


def _plausible(value: Any, where: str) -> dict[str, Range]:
    if not isinstance(value, Mapping):
        raise JuryPolicyError(f"{where}: a mapping from metric to {{min, max}}")
    out = {}
    for metric, bounds in value.items():
        if not isinstance(bounds, Mapping) or not bounds or set(bounds) - {"min", "max"}:
            raise JuryPolicyError(f"{where}.{metric}: give min and/or max, e.g. {{max: 0.98}}")
        if not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds.values()):
            raise JuryPolicyError(f"{where}.{metric}: min and max are numbers")
        out[str(metric)] = Range(bounds.get("min"), bounds.get("max"))
    return out
