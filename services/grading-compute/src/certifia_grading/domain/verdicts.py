"""Turn measured metrics into per-criterion verdicts a candidate can read (and contest)."""

from __future__ import annotations

import math

from certifia_grading.domain.model import CriterionVerdict
from certifia_grading.domain.spec import Check, CriterionSpec


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "non mesurée"
    return f"{value:.4g}"


def judge(criterion: CriterionSpec, metrics: dict[str, float | None]) -> CriterionVerdict:
    """Validated when every check passes; otherwise reports the first failing check."""
    failing: list[Check] = [c for c in criterion.checks if not c.passes(metrics.get(c.metric))]
    shown = failing[0] if failing else criterion.checks[0]
    parts = [
        f"{c.metric} = {_fmt(metrics.get(c.metric))} (attendu {c.comparator} {c.threshold:g}"
        + ("" if c.passes(metrics.get(c.metric)) else f" ; non atteint : {c.reason}")
        + ")"
        for c in criterion.checks
    ]
    head = "Validé" if not failing else "Rejeté"
    scope = f" Hors du contrôle automatique : {criterion.not_measured}" if criterion.not_measured else ""
    return CriterionVerdict(
        criterion_id=criterion.id,
        verdict="rejected" if failing else "validated",
        metric=shown.metric,
        value=metrics.get(shown.metric),
        threshold=shown.threshold,
        comparator=shown.comparator,
        explanation=f"{head} — {criterion.summary} Mesures : " + " ; ".join(parts) + "." + scope,
        checks=tuple(
            {
                "metric": c.metric,
                "value": metrics.get(c.metric),
                "threshold": c.threshold,
                "comparator": c.comparator,
                "passed": c.passes(metrics.get(c.metric)),
            }
            for c in criterion.checks
        ),
    )
