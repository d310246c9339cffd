"""Every check behind an automated verdict on one criterion. grading.completed names one check per criterion
(``metric``/``value``/``threshold``/``comparator``: the first failing one, else the first), so a criterion
with several checks read as if it had one. Its explanation lists them all, as grading-compute writes it
(``"<metric> = <value> (attendu <comparator> <threshold>[ ; non atteint : <why>])"`` for each); a verdict that
carries ``checks`` itself is read as it is. Plain Python, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from certifia_shared.feedback import round_for_threshold

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan"
_CHECK = re.compile(
    rf"(?P<metric>[^\s=;:()]+) = (?P<value>non mesurée|{_NUMBER}) "
    rf"\(attendu (?P<cmp>>=|<=|==) (?P<thr>{_NUMBER})(?P<tail>\)| ; non atteint)"
)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def checks_of(
    verdict: Mapping[str, Any], metrics: Mapping[str, Any] | None, *, exact: bool
) -> list[dict[str, Any]]:
    """The checks of one criterion's verdict: metric, comparator, threshold, value, passed. ``metrics`` (the
    report's) gives the exact values; ``exact`` False rounds each to its threshold's precision, as the
    candidate reads verdicts (certifia_shared.feedback). The verdict's own check when none can be read."""
    metrics = metrics or {}
    found = verdict.get("checks")
    raw: list[tuple[str, Any, Any, Any, Any]]
    if isinstance(found, list) and found:
        raw = [
            (
                str(c.get("metric")),
                c.get("value"),
                str(c.get("comparator")),
                c.get("threshold"),
                c.get("passed"),
            )
            for c in found
            if isinstance(c, Mapping)
        ]
    else:
        raw = [
            (m["metric"], _number(m["value"]), m["cmp"], _number(m["thr"]), m["tail"] == ")")
            for m in _CHECK.finditer(str(verdict.get("explanation", "")))
        ]
    if not raw and "metric" in verdict:
        passed = verdict.get("verdict") == "validated"
        raw = [
            (
                verdict["metric"],
                verdict.get("value"),
                verdict.get("comparator"),
                verdict.get("threshold"),
                passed,
            )
        ]
    out = []
    for metric, quoted, comparator, threshold, passed in raw:
        known = metrics.get(metric)
        value = float(known) if isinstance(known, int | float) else quoted
        if not exact and isinstance(value, int | float) and isinstance(threshold, int | float):
            value = round_for_threshold(float(value), float(threshold), str(comparator))
        out.append(
            {
                "metric": metric,
                "comparator": comparator,
                "threshold": threshold,
                "value": value,
                "passed": passed,
            }
        )
    return out


def with_checks(
    shown: dict[str, Any] | None, report: Mapping[str, Any] | None, *, exact: bool
) -> dict[str, Any] | None:
    """The report as a reader sees it (``shown``), each criterion with ``checks`` from the stored ``report``."""
    if not shown or not report or not isinstance(shown.get("criteria"), list):
        return shown
    metrics = report.get("metrics") if isinstance(report.get("metrics"), Mapping) else {}
    stored = {c.get("criterion_id"): c for c in report.get("criteria") or [] if isinstance(c, Mapping)}
    criteria = [
        {**c, "checks": checks_of(stored.get(c.get("criterion_id"), c), metrics, exact=exact)}
        for c in shown["criteria"]
    ]
    return {**shown, "criteria": criteria}
