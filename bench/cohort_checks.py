"""The invariants and figures of ``make bench-cohort`` (bench/cohort.py), as pure functions over what the run
recorded: the records read back from the Kafka topics, what each LMS webhook receiver answered, the walkers'
timings and the monitor's samples. Unit-tested in scripts/tests/test_bench_cohort.py; the run itself is the
bench.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DIPLOMA_ISSUED = "fr.certifia.certification.diploma.issued.v1"
BLOC_CERTIFICATE_ISSUED = "fr.certifia.certification.bloc_certificate.issued.v1"
BLOC_PASSED = "fr.certifia.assessment.bloc.passed.v1"
CRITERION_VALIDATED = "fr.certifia.assessment.criterion.validated.v1"
CRITERION_REJECTED = "fr.certifia.assessment.criterion.rejected.v1"
THESIS_DEFENDED = "fr.certifia.thesis.thesis.defended.v1"


@dataclass(frozen=True)
class BusEvent:
    """One record of a topic, as an independent reader sees it (CloudEvents headers, JSON data)."""

    topic: str
    type: str
    id: str
    subject: str
    timestamp_ms: int
    data: Mapping[str, Any]

    @classmethod
    def of(cls, record: Any) -> BusEvent:
        headers = {k: (v or b"").decode("utf-8", "replace") for k, v in (record.headers or [])}
        try:
            data = json.loads(record.value) if record.value else {}
        except ValueError:
            data = {}
        return cls(
            topic=record.topic,
            type=headers.get("ce_type", ""),
            id=headers.get("ce_id", ""),
            subject=headers.get("ce_subject", ""),
            timestamp_ms=int(record.timestamp),
            data=data if isinstance(data, dict) else {},
        )


@dataclass
class Check:
    name: str
    passed: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "detail": self.detail, **self.figures}


@dataclass(frozen=True)
class CandidatePlan:
    """What the cohort bench asked for one candidate: the LMS, the option, the criteria it decided, and those
    automated grading rejected first (a jury member confirmed the rejection, then validated the criterion:
    two decisions, the second in force)."""

    candidate_id: str
    lms: str
    option: str
    criteria: frozenset[str]
    rejected_first: frozenset[str] = frozenset()


def distinct(events: Iterable[BusEvent]) -> dict[str, BusEvent]:
    """By CloudEvent id: a relay's redelivery (the same id twice on the topic) is one event."""
    out: dict[str, BusEvent] = {}
    for e in events:
        out.setdefault(e.id, e)
    return out


def redeliveries(events: Sequence[BusEvent]) -> int:
    """Records whose CloudEvent id was already on the topic (at-least-once publication; consumers dedupe)."""
    return len(events) - len({e.id for e in events})


def one_per(name: str, events: Iterable[BusEvent], key: Any, expected: set[Any], what: str) -> Check:
    """Exactly one distinct event per expected key: none missing, none twice (two ids for one key), none
    unexpected."""
    by_key: dict[Any, set[str]] = defaultdict(set)
    for e in distinct(events).values():
        by_key[key(e)].add(e.id)
    missing = sorted(map(str, expected - by_key.keys()))
    twice = sorted(str(k) for k, ids in by_key.items() if len(ids) > 1)
    unexpected = sorted(str(k) for k in by_key.keys() - expected)
    passed = not (missing or twice or unexpected)
    detail = (
        f"{len(expected)} {what}, one each"
        if passed
        else f"{len(missing)} missing {missing[:5]}, {len(twice)} twice {twice[:5]}, "
        f"{len(unexpected)} unexpected {unexpected[:5]} (of {len(expected)} {what})"
    )
    figures = {"expected": len(expected), "found": sum(len(ids) for ids in by_key.values())}
    return Check(name, passed, detail, figures)


def bus_checks(events: Sequence[BusEvent], plans: Sequence[CandidatePlan]) -> list[Check]:
    """Exactly N diplomas and 5N bloc certificates, one thesis defence each, and every decision the cohort
    made on the bus once (one validation per candidate and criterion; a rejection only where automated grading
    rejected first, once), read from the topics."""
    cohort = {p.candidate_id: p for p in plans}
    of_type: dict[str, list[BusEvent]] = defaultdict(list)
    for e in events:
        if e.subject in cohort:
            of_type[e.type].append(e)
    blocs = {(p.candidate_id, b) for p in plans for b in ("1", "2", "3", "4", p.option)}
    decisions = {(p.candidate_id, c) for p in plans for c in p.criteria}
    checks = [
        one_per(
            "diplomas",
            of_type[DIPLOMA_ISSUED],
            lambda e: e.subject,
            set(cohort),
            "diplomas (diploma.issued)",
        ),
        one_per(
            "bloc_certificates",
            of_type[BLOC_CERTIFICATE_ISSUED],
            lambda e: (e.subject, str(e.data.get("bloc"))),
            blocs,
            "bloc certificates (bloc_certificate.issued)",
        ),
        one_per(
            "blocs_passed",
            of_type[BLOC_PASSED],
            lambda e: (e.subject, str(e.data.get("bloc"))),
            blocs,
            "blocs passed (bloc.passed)",
        ),
        one_per(
            "thesis_defences",
            of_type[THESIS_DEFENDED],
            lambda e: e.subject,
            set(cohort),
            "defences (thesis.defended)",
        ),
    ]
    by_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in distinct(of_type[CRITERION_VALIDATED]).values():
        by_pair[(e.subject, str(e.data.get("criterion_id")))].add(str(e.data.get("decision_id")))
    missing = decisions - by_pair.keys()
    twice = [k for k, ids in by_pair.items() if len(ids) > 1]
    extra = by_pair.keys() - decisions
    rejections: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in distinct(of_type[CRITERION_REJECTED]).values():
        rejections[(e.subject, str(e.data.get("criterion_id")))].add(str(e.data.get("decision_id")))
    expected_rejections = {(p.candidate_id, c) for p in plans for c in p.rejected_first}
    rejected_wrong = (rejections.keys() ^ expected_rejections) | {
        k for k, ids in rejections.items() if len(ids) > 1
    }
    passed = not (missing or twice or extra or rejected_wrong)
    checks.append(
        Check(
            "decisions_on_the_bus",
            passed,
            f"{len(decisions)} validations, each once (criterion.validated, one decision id each), and the "
            f"{len(expected_rejections)} automated rejections confirmed before them, each once"
            if passed
            else f"{len(missing)} lost, {len(twice)} duplicated (two decision ids), {len(extra)} unexpected, "
            f"{len(rejected_wrong)} rejections not as graded, of {len(decisions)}",
            {
                "expected": len(decisions),
                "lost": len(missing),
                "duplicated": len(twice),
                "rejected_first": len(expected_rejections),
            },
        )
    )
    return checks


@dataclass(frozen=True)
class Delivery:
    """One POST a webhook receiver got, and what it answered."""

    webhook_id: str
    status: int
    event_id: str
    candidate_id: str
    name: str
    signature_valid: bool


def webhook_check(subscription: str, deliveries: Sequence[Delivery], expected_event_ids: set[str]) -> Check:
    """Receiver-side, by webhook id: every expected event accepted (a 2xx answered) under exactly one
    webhook id, none unexpected, every signature valid. A webhook id accepted again (the sender crashed
    between the POST and recording it) is counted, not a failure: receivers dedupe on webhook-id."""
    accepted: dict[str, set[str]] = defaultdict(set)  # event id -> webhook ids accepted for it
    times: Counter[str] = Counter()
    for d in deliveries:
        if 200 <= d.status < 300:
            accepted[d.event_id].add(d.webhook_id)
            times[d.webhook_id] += 1
    missing = expected_event_ids - accepted.keys()
    unexpected = accepted.keys() - expected_event_ids
    two_ids = [e for e, ids in accepted.items() if len(ids) > 1]
    forged = sum(1 for d in deliveries if not d.signature_valid)
    refused = sum(1 for d in deliveries if not 200 <= d.status < 300)
    passed = not (missing or unexpected or two_ids or forged)
    detail = (
        f"{len(expected_event_ids)} events delivered once each by webhook id"
        if passed
        else f"{len(missing)} never delivered, {len(unexpected)} unexpected, {len(two_ids)} under two webhook "
        f"ids, {forged} bad signatures (of {len(expected_event_ids)})"
    )
    return Check(
        f"webhooks:{subscription}",
        passed,
        detail,
        {
            "expected": len(expected_event_ids),
            "attempts": len(deliveries),
            "refused_by_the_receiver": refused,
            "accepted_again_same_webhook_id": sum(n - 1 for n in times.values() if n > 1),
        },
    )


# -- figures ---------------------------------------------------------------------------------------------------
def percentiles(values: Sequence[float], points: Sequence[int] = (50, 95, 99)) -> dict[str, Any]:
    """p50/p95/p99 (numpy's linear interpolation), n, max; rounded to the millisecond of seconds given."""
    if not values:
        return {"n": 0}
    array = np.asarray(values, dtype=float)
    out: dict[str, Any] = {"n": len(values)}
    for p in points:
        out[f"p{p}"] = round(float(np.percentile(array, p)), 3)
    out["max"] = round(float(array.max()), 3)
    return out


def latencies_s(starts_ms: Mapping[Any, float], ends: Iterable[BusEvent], key: Any) -> list[float]:
    """Seconds from each key's start (a REST answer, epoch ms) to the first event for that key on the bus."""
    first: dict[Any, int] = {}
    for e in ends:
        k = key(e)
        if k in starts_ms and (k not in first or e.timestamp_ms < first[k]):
            first[k] = e.timestamp_ms
    return [max(0.0, (first[k] - starts_ms[k]) / 1000.0) for k in first]


@dataclass(frozen=True)
class Sample:
    """One monitor sample: seconds since the start, each group's lag (None: unreadable), counters."""

    t: float
    lag: Mapping[str, int | None]
    decisions: int
    diplomas: int

    @property
    def total_lag(self) -> int | None:
        values = list(self.lag.values())
        return None if not values or any(v is None for v in values) else sum(v or 0 for v in values)


def lag_peaks(samples: Sequence[Sample]) -> dict[str, dict[str, float]]:
    """Per consumer group, its highest lag and when (s since the start)."""
    peaks: dict[str, dict[str, float]] = {}
    for s in samples:
        for group, lag in s.lag.items():
            if lag is not None and lag >= peaks.get(group, {"lag": -1})["lag"]:
                peaks[group] = {"lag": lag, "at_s": round(s.t, 1)}
    return peaks


def rate(samples: Sequence[Sample], start: float, end: float) -> float | None:
    """Decisions per second between two times, from the samples' counter."""
    inside = [s for s in samples if start <= s.t <= end]
    if len(inside) < 2 or inside[-1].t <= inside[0].t:
        return None
    return (inside[-1].decisions - inside[0].decisions) / (inside[-1].t - inside[0].t)


def recovery(
    samples: Sequence[Sample], at: float, ready_after: float | None, window: float = 10.0
) -> dict[str, Any]:
    """After a fault at ``at`` (s since the start): the lag before it (the median of the ``window`` seconds
    before), the peak after, when the total lag came back to within 10 events of it, and when the decision
    rate (over 3 s) came back to half of its rate in the ``3 * window`` seconds before (0: it never fell
    that low). None where it never did."""
    before = [s.total_lag for s in samples if at - window <= s.t < at and s.total_lag is not None]
    baseline = float(np.median(before)) if before else 0.0
    after = [s for s in samples if s.t >= at]
    peak = max((s.total_lag for s in after[: int(window * 6)] if s.total_lag is not None), default=None)
    lag_back = next(
        (
            s.t - at
            for s in after
            if s.t >= at + (ready_after or 0.0) and s.total_lag is not None and s.total_lag <= baseline + 10
        ),
        None,
    )
    rate_before = rate(samples, at - 3 * window, at)
    rate_back = None
    if rate_before:
        for s in after:
            r = rate(samples, s.t, s.t + 3.0)
            if r is not None and r >= rate_before / 2:
                rate_back = s.t - at
                break
    return {
        "ready_after_s": None if ready_after is None else round(ready_after, 1),
        "lag_before": round(baseline, 1),
        "lag_peak_after": peak,
        "lag_back_after_s": None if lag_back is None else round(lag_back, 1),
        "decision_rate_before_per_s": None if rate_before is None else round(rate_before, 1),
        "decision_rate_back_after_s": None if rate_back is None else round(rate_back, 1),
    }


def spread_check(groups: Mapping[str, Sequence[Mapping[str, Any]]], instances: int) -> Check:
    """Scale-out: every scaled-out service's consumer group has ``instances`` members, and each holds
    partitions (the group spread them; none stands idle)."""
    problems = []
    held_by: dict[str, list[int]] = {}
    for group, members in groups.items():
        counts = []
        for member in members:
            assignment = member.get("member_assignment") or {}
            entries = assignment.get("assigned_partitions") or [] if isinstance(assignment, dict) else []
            counts.append(sum(len(e.get("partitions") or []) for e in entries))
        held_by[group] = counts
        if len(members) != instances or not all(counts):
            problems.append(f"{group}: {len(members)} members holding {counts} partitions")
    return Check(
        "partitions_spread",
        not problems,
        f"{len(groups)} groups of {instances} members, each holding partitions"
        if not problems
        else "; ".join(problems),
        {"partitions_held_by_member": held_by},
    )


def reserve(candidates: int, walkers: int, faults: int) -> dict[int, int]:
    """Which candidates wait before they start, and for what: candidate index -> the fault they start with
    (0-based), or ``faults`` for once every fault is done.

    Faults come on a clock, the cohort walks at the machine's pace: on a fast run the last candidates were
    done before the last fault (a test-cohort of 240a3f7: none walking at "kill grading-compute"). So a few
    candidates wait for each fault and start as it comes, and the last ones wait for the end of the schedule,
    so that every fault and the recovery after the last one come under load whatever the pace. They are the
    last of the queue (a pool takes candidates in order, so none waits in front of one that could walk), later
    faults first where there are too few, and at least one candidate is never held."""
    final = max(1, min(walkers, candidates // 10))
    per_fault = max(1, walkers // 16)
    plan: dict[int, int] = {}
    index = candidates - 1
    for gate in [faults] * final + [f for f in range(faults - 1, -1, -1) for _ in range(per_fault)]:
        if index < 1:
            break
        plan[index] = gate
        index -= 1
    return plan
