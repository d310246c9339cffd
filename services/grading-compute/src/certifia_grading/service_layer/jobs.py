"""Grading jobs: queued from ``grading.requested``, graded off the consumer loop, finished with an event.

The consumer only records the job (fast, in the inbox transaction); workers claim jobs fairly (round-robin
across candidates, a cap on one candidate's jobs in flight: ``JobRepository.claim_next``), fetch the
archive, grade it and, in one transaction, store the result and emit ``grading.completed`` (v2, and v1
beside it when v1 can carry the verdict) or ``grading.failed``. A crash while grading leaves the job
running; on restart it is queued again and graded again, which gives the same verdict because grading is
deterministic.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Literal, Protocol

from opentelemetry import trace

from certifia_grading.adapters.artifacts import ArtifactUnavailable
from certifia_grading.domain import GradingOutcome, UnknownPack
from certifia_grading.service_layer.unit_of_work import GradingUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.journey import mark_candidate
from certifia_shared.polling import PollingLoop
from certifia_shared.telemetry import extract_trace_context, inject_trace_headers, log_fields, tracer

log = logging.getLogger(__name__)
FailureCause = Literal["submission", "infrastructure"]


class Grade(Protocol):
    def __call__(self, pack_id: str, archive: bytes, *, time_factor: float = 1.0) -> GradingOutcome: ...


SUBMISSION: FailureCause = "submission"
INFRASTRUCTURE: FailureCause = "infrastructure"


def on_grading_requested(event: CloudEvent, uow: GradingUnitOfWork) -> None:
    data = event.data
    if uow.jobs.get(data["submission_id"]) is not None:
        return
    uow.jobs.add(
        submission_id=data["submission_id"],
        candidate_id=data["candidate_id"],
        evaluation_id=data["evaluation_id"],
        pack_id=data["pack_id"],
        criteria=data["criteria"],
        artifact=data["artifact"],
        trace_headers=inject_trace_headers(),  # the worker continues this trace
        requested_at=utcnow(),
    )


def completed_payload(job: dict[str, Any], outcome: GradingOutcome) -> dict[str, Any]:
    return {
        "submission_id": job["submission_id"],
        "candidate_id": job["candidate_id"],
        "pack_id": outcome.pack_id,
        "pack_version": outcome.pack_version,
        "dataset_seed": outcome.dataset_seed,  # the pack's public seed, as v1 and v2 were released with
        **_commitment(outcome),
        "submission_digest": outcome.submission_digest,
        "criteria": [{**asdict(v), "checks": [dict(k) for k in v.checks]} for v in outcome.criteria],
        "metrics": dict(outcome.metrics),
        "duration_s": round(outcome.duration_s, 3),
        **_accommodation(outcome),
        "completed_at": utcnow().isoformat(),
    }


def _accommodation(outcome: GradingOutcome | None) -> dict[str, Any]:
    """The extra-time accommodation the job was graded under, when there was one: visible in the
    verdict's record (grading.completed v2, grading.failed)."""
    if outcome is None or outcome.time_factor == 1.0:
        return {}
    return {
        "accommodation": {"extra_time_factor": outcome.time_factor, "applied_to": ["sandbox_time_limits"]}
    }


def _commitment(outcome: GradingOutcome | None) -> dict[str, str]:
    """The commitment to the hidden data's seed (domain.hidden), when the grader graded: the seed itself
    is never published; an auditor holding the grading secret checks it (python -m certifia_grading.audit)."""
    if outcome is None or not outcome.dataset_commitment:
        return {}
    return {"dataset_commitment": outcome.dataset_commitment}


# What grading.completed v1 can carry: its comparator enum was released without "==".
V1_COMPARATORS = frozenset({">=", "<="})


def completed_event_types(payload: dict[str, Any]) -> list[str]:
    """v2 for every verdict; v1 beside it, produced until its readers move, only when every criterion's
    comparator is one v1 knows (a v1 reader dead-letters an equality check as a contract violation)."""
    if all(c["comparator"] in V1_COMPARATORS for c in payload["criteria"]):
        return [ev.GRADING_COMPLETED_V2, ev.GRADING_COMPLETED]
    return [ev.GRADING_COMPLETED_V2]


def failed_payload(
    job: dict[str, Any],
    reason: str,
    outcome: GradingOutcome | None = None,
    *,
    cause: FailureCause = SUBMISSION,
) -> dict[str, Any]:
    """grading.failed; ``cause`` says whose failure it is: an infrastructure failure does not count as one
    of the candidate's graded attempts (assessment and the attempt limit here skip it)."""
    return {
        "submission_id": job["submission_id"],
        "candidate_id": job["candidate_id"],
        "pack_id": job["pack_id"],
        "pack_version": outcome.pack_version if outcome else None,
        "dataset_seed": outcome.dataset_seed if outcome else None,
        **_commitment(outcome),
        "submission_digest": outcome.submission_digest if outcome else job["artifact"]["sha256"],
        "reason": reason,
        "cause": cause,
        **_accommodation(outcome),
        "failed_at": utcnow().isoformat(),
    }


class GradingWorker:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], GradingUnitOfWork],
        fetch: Callable[[dict[str, Any]], bytes],
        grade: Grade,
        max_attempts: int = 3,
        idle_seconds: float = 0.3,
        max_in_flight_per_candidate: int = 1,
        max_attempts_per_evaluation: int | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._fetch = fetch
        self._grade = grade
        self._max_attempts = max_attempts
        self._idle_seconds = idle_seconds
        self._max_in_flight = max_in_flight_per_candidate
        self._attempt_limit = max_attempts_per_evaluation
        self._tracer = tracer("certifia.grading")

    def run(self, stop: threading.Event) -> None:
        # the worker never dies: a failed iteration leaves its job queued or running for recovery
        PollingLoop(self.run_once, name="grading worker", poll_seconds=self._idle_seconds).run(stop)

    def run_once(self) -> bool:
        with self._uow_factory() as uow:
            job = uow.jobs.claim_next(utcnow(), max_in_flight=self._max_in_flight)
            uow.commit()
        if job is None:
            return False
        parent = extract_trace_context({str(k): str(v) for k, v in (job["trace_headers"] or {}).items()})
        with self._tracer.start_as_current_span(
            "grading.job",
            context=parent,
            kind=trace.SpanKind.INTERNAL,
            attributes={"certifia.submission_id": job["submission_id"], "certifia.pack_id": job["pack_id"]},
        ) as span:
            mark_candidate(str(job["candidate_id"]), span)
            self._process(job)
        return True

    def _process(self, job: dict[str, Any]) -> None:
        if (beyond := self._beyond_attempt_limit(job)) is not None:
            self._finish(job, failed_payload(job, beyond))
            return
        try:
            archive = self._fetch(job["artifact"])
        except ArtifactUnavailable as exc:
            self._retry_or_fail(job, f"the submission's archive could not be fetched: {exc}")
            return
        try:
            outcome = self._grade(job["pack_id"], archive, time_factor=self._time_factor(job))
        except UnknownPack:
            reason = f"unknown grading pack {job['pack_id']!r}"
            self._finish(job, failed_payload(job, reason, cause=INFRASTRUCTURE))
            return
        except Exception:  # infrastructure (Ray, Triton) failed, not the candidate; details in the log only
            log.exception(
                "grading infrastructure error", extra=log_fields(submission_id=job["submission_id"])
            )
            self._retry_or_fail(job, "grading infrastructure error (the grading service logged it)")
            return
        if outcome.failed_reason:
            cause: FailureCause = INFRASTRUCTURE if outcome.failure_cause == INFRASTRUCTURE else SUBMISSION
            self._finish(job, failed_payload(job, outcome.failed_reason, outcome, cause=cause))
        else:
            self._finish(job, completed_payload(job, outcome))

    def _time_factor(self, job: dict[str, Any]) -> float:
        """The candidate's extra-time factor in force (candidate.accommodation_granted), 1.0 without one."""
        with self._uow_factory() as uow:
            return uow.candidates.time_factor(job["candidate_id"])

    def _beyond_attempt_limit(self, job: dict[str, Any]) -> str | None:
        """Defensive (assessment refuses the submission first): the reason a job past the candidate's
        graded attempts at its evaluation is not graded, or None."""
        if self._attempt_limit is None:
            return None
        with self._uow_factory() as uow:
            number = uow.jobs.attempt_number(job)
        if number <= self._attempt_limit:
            return None
        return (
            f"not graded: submission {number} for evaluation {job['evaluation_id']}, beyond the limit of "
            f"{self._attempt_limit} graded attempts per candidate (GRADING_MAX_ATTEMPTS_PER_EVALUATION)"
        )

    def _retry_or_fail(self, job: dict[str, Any], reason: str) -> None:
        if job["attempts"] < self._max_attempts:
            with self._uow_factory() as uow:
                uow.jobs.requeue(job["submission_id"], reason)
                uow.commit()
            log.warning(
                "grading job requeued: %s", reason, extra=log_fields(submission_id=job["submission_id"])
            )
            return
        reason = f"{reason} (gave up after {job['attempts']} attempts; it does not count as a graded attempt)"
        self._finish(job, failed_payload(job, reason, cause=INFRASTRUCTURE))

    def _finish(self, job: dict[str, Any], payload: dict[str, Any]) -> None:
        failed = "reason" in payload
        with self._uow_factory() as uow:
            uow.jobs.finish(
                job["submission_id"],
                status="failed" if failed else "completed",
                result=payload,
                reason=payload.get("reason"),
                at=utcnow(),
            )
            for event_type in [ev.GRADING_FAILED] if failed else completed_event_types(payload):
                uow.emit(event_type, subject=job["candidate_id"], data=payload)
            uow.commit()
        log.info(
            "grading job %s",
            "failed" if failed else "completed",
            extra=log_fields(submission_id=job["submission_id"]),
        )


def recover_interrupted_jobs(uow: GradingUnitOfWork, *, max_attempts: int = 3) -> int:
    """At start-up: jobs left running by a crash go back to the queue, unless they already had their
    ``max_attempts`` (a submission that crashes its worker every time would otherwise be retried forever):
    those fail as an infrastructure error, with grading.failed. Returns how many were queued again."""
    with uow:
        for job in uow.jobs.running():
            if job["attempts"] >= max_attempts:
                reason = (
                    f"grading was interrupted {job['attempts']} times (the grading worker stopped while it ran): "
                    "not retried again; it does not count as a graded attempt: hand the work in again, or "
                    "an officer can ask for a new grading"
                )
                payload = failed_payload(job, reason, cause=INFRASTRUCTURE)
                uow.jobs.finish(
                    job["submission_id"], status="failed", result=payload, reason=reason, at=utcnow()
                )
                uow.emit(ev.GRADING_FAILED, subject=job["candidate_id"], data=payload)
        count = uow.jobs.recover_interrupted()
        uow.commit()
        return count
