"""What a grading report shows to whom: feedback that teaches without leaking the hidden labels.

Candidates (and their LMS) see each criterion, its verdict, the metric rounded to the precision its
threshold is written with, and the explanation with the same rounding. Exact values, every raw metric
(confusion counts included) and the dataset seed go to the jury, officers, admins (auditors) and services.

The rounding never contradicts the verdict: a value checked with ``>=`` is rounded down, with ``<=`` up,
with ``==`` away from the threshold (``0.849`` against ``>= 0.85`` reads ``0.84``, never ``0.85``).
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from certifia_shared.auth import Principal

EXACT_READERS = frozenset({"jury", "officer", "admin", "service"})
MAX_DECIMALS = 12
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
# how the grader quotes a checked value: "accuracy = 0.8467 (attendu >= 0.85 ..."
_QUOTED = re.compile(
    rf"(?P<head>(?P<name>[^\s=;:()]+) = )(?P<value>{_NUMBER})(?P<tail> \(attendu (?P<cmp>>=|<=|==) (?P<thr>{_NUMBER}))"
)
CANDIDATE_REPORT_FIELDS = ("submission_id", "candidate_id", "pack_id", "pack_version", "submission_digest")


def sees_exact_grading(principal: Principal) -> bool:
    """Jury, officers, admins (auditors) and services read exact values; candidates and LMSs do not."""
    return bool(principal.roles & EXACT_READERS)


def threshold_decimals(threshold: float) -> int:
    """How many decimals the threshold is written with (0.85 -> 2, 0.9 -> 1, 5 -> 0, 1e-3 -> 3)."""
    exponent = Decimal(repr(float(threshold))).normalize().as_tuple().exponent
    return min(MAX_DECIMALS, max(0, -exponent)) if isinstance(exponent, int) else 0


def _rounded(value: float, threshold: float, comparator: str) -> Decimal:
    """Raises InvalidOperation for a value too large to quantize (more than 28 digits)."""
    step = Decimal(1).scaleb(-threshold_decimals(threshold))
    exact = Decimal(repr(float(value)))
    if comparator == ">=" or (comparator == "==" and value < threshold):
        rounding = ROUND_FLOOR
    elif comparator == "<=" or (comparator == "==" and value > threshold):
        rounding = ROUND_CEILING
    else:  # == and equal: the threshold itself
        return Decimal(repr(float(threshold))).quantize(step)
    return exact.quantize(step, rounding=rounding)


def round_for_threshold(value: float | None, threshold: float, comparator: str) -> float | None:
    """``value`` to the threshold's decimals, rounded on the side that keeps the verdict it reads as:
    down for ``>=``, up for ``<=``, away from the threshold for ``==``. None (or NaN) stays None."""
    if value is None or not math.isfinite(value) or not math.isfinite(threshold):
        return None
    try:
        return float(_rounded(value, threshold, comparator))
    except InvalidOperation:
        return None


def candidate_explanation(explanation: str, exact: dict[str, Any] | None = None) -> str:
    """The grader's explanation with every quoted value ("m = 0.8467 (attendu >= 0.85") rounded like
    :func:`round_for_threshold`, from the exact value in ``exact`` (the report's metrics) when it has it:
    the quote is itself rounded (4 significant digits) and may sit on the other side of the threshold."""
    exact = exact or {}

    def round_quote(match: re.Match[str]) -> str:
        try:
            known = exact.get(match["name"])
            value = float(known) if isinstance(known, int | float) else float(match["value"])
            threshold = float(match["thr"])
            if not (math.isfinite(value) and math.isfinite(threshold)):
                raise ValueError(match["value"])
            shown = _rounded(value, threshold, match["cmp"])
        except (ValueError, InvalidOperation):
            return f"{match['head']}…{match['tail']}"
        return f"{match['head']}{shown:f}{match['tail']}"

    return _QUOTED.sub(round_quote, explanation)


def candidate_criterion(criterion: dict[str, Any], exact: dict[str, Any] | None = None) -> dict[str, Any]:
    """One verdict as a candidate sees it; ``exact`` is the report's metrics, used to round the quotes."""
    keep = ("criterion_id", "verdict", "metric", "threshold", "comparator")
    out = {k: criterion[k] for k in keep if k in criterion}
    threshold = criterion.get("threshold")
    value = criterion.get("value")
    out["value"] = (
        round_for_threshold(float(value), float(threshold), str(criterion.get("comparator")))
        if isinstance(value, int | float) and isinstance(threshold, int | float)
        else None
    )
    out["explanation"] = candidate_explanation(str(criterion.get("explanation", "")), exact)
    checks = criterion.get("checks")
    if isinstance(checks, list):  # every check, each value rounded like the verdict's own
        out["checks"] = [_candidate_check(k) for k in checks if isinstance(k, dict)]
    return out


def _candidate_check(check: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: check[k] for k in ("metric", "threshold", "comparator", "passed") if k in check}
    value, threshold = check.get("value"), check.get("threshold")
    out["value"] = (
        round_for_threshold(float(value), float(threshold), str(check.get("comparator")))
        if isinstance(value, int | float) and isinstance(threshold, int | float)
        else None
    )
    return out


def candidate_report(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """A grading report (grading.completed's payload, or grading.failed's) as a candidate sees it:
    identifiers, each criterion rounded (:func:`candidate_criterion`), the failure reason; no raw metrics,
    no confusion counts, no dataset seed."""
    if report is None:
        return None
    out = {k: report[k] for k in CANDIDATE_REPORT_FIELDS if k in report}
    if "criteria" in report:
        metrics = report.get("metrics") if isinstance(report.get("metrics"), dict) else {}
        out["criteria"] = [candidate_criterion(c, metrics) for c in report["criteria"]]
    for key in ("reason", "cause", "accommodation", "completed_at", "failed_at"):
        if key in report:
            out[key] = report[key]
    return out


def report_for(principal: Principal, report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report as ``principal`` may read it: exact for the jury and auditors, rounded for the rest."""
    return report if sees_exact_grading(principal) else candidate_report(report)
