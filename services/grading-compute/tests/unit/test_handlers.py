"""Every use case of grading-compute's service layer on the fake unit of work (no database): the events it
consumes (grading.requested, candidate.enrolled, candidate.accommodation_granted), the grading worker (claim,
fetch, grade, finish with one outcome), the recovery at start-up and the read side (views). The SQLite
and PostgreSQL suites (tests/integration) run the same flows on the real repositories."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from certifia_grading.adapters.artifacts import ArtifactUnavailable
from certifia_grading.domain import CriterionVerdict, GradingOutcome, UnknownCandidate, UnknownPack
from certifia_grading.domain.model import Comparator
from certifia_grading.service_layer import views
from certifia_grading.service_layer.candidates import on_accommodation_granted
from certifia_grading.service_layer.events import event_handlers
from certifia_grading.service_layer.jobs import GradingWorker, on_grading_requested, recover_interrupted_jobs
from certifia_shared import event_types as ev
from certifia_shared.auth import Principal
from certifia_shared.envelope import CloudEvent
from certifia_shared.envelope import event_time as instant

from .fakes import FakeGradingUnitOfWork

DIGEST = "a" * 64
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def request(
    submission_id: str = "sub-1",
    pack_id: str = "b2_data_cleaning",
    *,
    candidate_id: str = "cand-1",
    requested_at: str = "2026-11-25T08:00:00+00:00",
) -> CloudEvent:
    return CloudEvent(
        type=ev.GRADING_REQUESTED,
        source="/certifia/assessment",
        subject=candidate_id,
        data={
            "submission_id": submission_id,
            "candidate_id": candidate_id,
            "evaluation_id": "2.EV1",
            "pack_id": pack_id,
            "criteria": ["2.A1.C1.E1"],
            "artifact": {"url": "http://127.0.0.1:1/x", "sha256": DIGEST, "size_bytes": 3},
            "requested_at": requested_at,
        },
    )


def enrolled(candidate_id: str = "cand-1", at: str = "2026-11-01T08:00:00Z") -> CloudEvent:
    return CloudEvent(
        type=ev.CANDIDATE_ENROLLED,
        source="/certifia/enrolment",
        subject=candidate_id,
        data={"candidate_id": candidate_id, "lms_client": "demo-lms", "enrolled_at": at},
    )


def granted(
    factor: float, at: str, accommodation_id: str = "acc-1", candidate_id: str = "cand-1"
) -> CloudEvent:
    return CloudEvent(
        type=ev.ACCOMMODATION_GRANTED,
        source="/certifia/enrolment",
        subject=candidate_id,
        data={
            "accommodation_id": accommodation_id,
            "candidate_id": candidate_id,
            "extra_time_factor": factor,
            "adapted_formats": [],
            "evidence_reference": "MDPH 2026-0042",
            "granted_by": "officer-1",
            "granted_by_role": "officer",
            "granted_at": at,
        },
    )


def handle(uow: FakeGradingUnitOfWork, event: CloudEvent) -> None:
    """As the consumer does: the handler for the event's type in one committed unit of work."""
    with uow:
        event_handlers()[event.type](event, uow)  # type: ignore[arg-type]
        uow.commit()


def outcome(failed: str | None = None, comparators: tuple[Comparator, ...] = ("<=",)) -> GradingOutcome:
    verdicts = (
        ()
        if failed
        else tuple(
            CriterionVerdict(f"2.A1.C1.E{i}", "validated", "mae", 0.01, 0.1, comparator, "erreur faible")
            for i, comparator in enumerate(comparators, start=1)
        )
    )
    return GradingOutcome("b2_data_cleaning", "1.0.0", 7, DIGEST, verdicts, {"mae": 0.01}, 1.5, failed)


def worker(
    uow: FakeGradingUnitOfWork, grade: Any, fetch: Any = lambda artifact: b"zip", **kw: Any
) -> GradingWorker:
    return GradingWorker(
        uow_factory=lambda: uow,  # type: ignore[arg-type, return-value]
        fetch=fetch,
        grade=grade,
        **{"max_attempts": 2, "idle_seconds": 0, **kw},
    )


def published(uow: FakeGradingUnitOfWork) -> list[tuple[str, dict[str, Any]]]:
    return [(e.type, e.data) for e in uow.outbox]


@pytest.fixture
def uow() -> FakeGradingUnitOfWork:
    return FakeGradingUnitOfWork()


# -- grading.requested ---------------------------------------------------------------------------------
def test_a_grading_request_queues_one_job_and_a_repeat_changes_nothing(uow: FakeGradingUnitOfWork) -> None:
    handle(uow, request())
    handle(uow, request())  # the same request again (another event id)
    job = uow.jobs.get("sub-1")
    assert job is not None and list(uow.jobs.rows) == ["sub-1"]
    assert (job["status"], job["attempts"], job["pack_id"], job["evaluation_id"]) == (
        "queued",
        0,
        "b2_data_cleaning",
        "2.EV1",
    )
    assert job["artifact"]["sha256"] == DIGEST and job["criteria"] == ["2.A1.C1.E1"]
    assert isinstance(job["trace_headers"], dict)  # the worker continues the request's trace
    assert uow.committed == 2 and uow.outbox == []  # queuing emits nothing


def test_a_grading_request_not_committed_leaves_no_job(uow: FakeGradingUnitOfWork) -> None:
    with uow:
        on_grading_requested(request(), uow)  # type: ignore[arg-type]
    assert uow.jobs.get("sub-1") is None


# -- candidate.enrolled and candidate.accommodation_granted ------------------------------------------------
def test_an_enrolment_records_the_tenant_once(uow: FakeGradingUnitOfWork) -> None:
    handle(uow, enrolled())
    handle(uow, enrolled(at="2026-12-01T08:00:00Z"))  # replayed later: the first record stays
    row = uow.candidates.rows["cand-1"]
    assert row["lms_client"] == "demo-lms"
    assert row["enrolled_at"] == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert uow.candidates.time_factor("cand-1") == 1.0


def test_event_timestamps_are_read_in_utc() -> None:
    assert instant("2026-11-01T10:00:00+02:00") == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert instant("2026-11-01T08:00:00z") == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert instant("2026-11-01T08:00:00") == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # naive: UTC
    assert instant("2026-11-01T10:00:00+02:00").tzinfo is UTC


def test_the_latest_accommodation_is_the_one_in_force(uow: FakeGradingUnitOfWork) -> None:
    handle(uow, enrolled())
    handle(uow, granted(1.5, "2026-11-10T08:00:00Z"))
    handle(uow, granted(1.25, "2026-11-01T09:00:00Z", "acc-old"))  # older, arriving late: nothing changes
    assert uow.candidates.time_factor("cand-1") == 1.5
    assert uow.candidates.rows["cand-1"]["accommodation_id"] == "acc-1"
    handle(uow, granted(2.0, "2026-11-12T10:00:00+02:00", "acc-new"))  # newer: replaces it, stored in UTC
    assert uow.candidates.time_factor("cand-1") == 2.0
    assert uow.candidates.accommodation_at("cand-1") == datetime(2026, 11, 12, 8, 0, tzinfo=UTC)


def test_an_accommodation_for_an_unknown_candidate_is_refused(uow: FakeGradingUnitOfWork) -> None:
    with pytest.raises(UnknownCandidate) as refused, uow:
        on_accommodation_granted(granted(1.5, "2026-11-10T08:00:00Z"), uow)  # type: ignore[arg-type]
    assert refused.value.candidate_id == "cand-1"
    assert isinstance(refused.value, LookupError)  # the consumer's gap, as before
    assert uow.candidates.rows == {}


def test_the_consumer_takes_the_three_events_and_no_other() -> None:
    assert set(event_handlers()) == {ev.GRADING_REQUESTED, ev.CANDIDATE_ENROLLED, ev.ACCOMMODATION_GRANTED}


# -- the grading worker ------------------------------------------------------------------------------------
def test_a_requested_job_is_graded_once_and_completed_with_its_verdicts(uow: FakeGradingUnitOfWork) -> None:
    handle(uow, request())
    calls = []
    w = worker(uow, lambda pack, archive, **_: calls.append((pack, archive)) or outcome())
    assert w.run_once() is True
    assert w.run_once() is False  # nothing left to claim
    assert calls == [("b2_data_cleaning", b"zip")]
    [(event_type, payload), (also, same)] = published(uow)
    assert (event_type, also) == (ev.GRADING_COMPLETED_V2, ev.GRADING_COMPLETED)
    assert same == payload and [e.subject for e in uow.outbox] == ["cand-1", "cand-1"]
    assert payload["criteria"][0]["verdict"] == "validated"
    assert (payload["pack_version"], payload["dataset_seed"], payload["submission_digest"]) == (
        "1.0.0",
        7,
        DIGEST,
    )
    job = uow.jobs.get("sub-1")
    assert job is not None and (job["status"], job["attempts"], job["reason"]) == ("completed", 1, None)
    assert job["result"] == payload and job["finished_at"] is not None


def test_a_submission_that_cannot_be_graded_ends_in_grading_failed_with_the_reason(
    uow: FakeGradingUnitOfWork,
) -> None:
    handle(uow, request())
    worker(uow, lambda pack, archive, **_: outcome(failed="wall-clock limit of 60 s exceeded")).run_once()
    [(event_type, payload)] = published(uow)
    assert event_type == ev.GRADING_FAILED
    assert (payload["reason"], payload["cause"]) == ("wall-clock limit of 60 s exceeded", "submission")
    job = uow.jobs.get("sub-1")
    assert job is not None and (job["status"], job["reason"]) == (
        "failed",
        "wall-clock limit of 60 s exceeded",
    )


def test_an_outcome_the_infrastructure_failed_says_so(uow: FakeGradingUnitOfWork) -> None:
    handle(uow, request())
    failed = dataclasses.replace(
        outcome(failed="sandbox unavailable: no bwrap"), failure_cause="infrastructure"
    )
    worker(uow, lambda pack, archive, **_: failed).run_once()
    [(event_type, payload)] = published(uow)
    assert (event_type, payload["cause"]) == (ev.GRADING_FAILED, "infrastructure")


def test_an_unknown_pack_fails_without_retry(uow: FakeGradingUnitOfWork) -> None:
    handle(uow, request(pack_id="no-such-pack"))

    def grade(pack: str, archive: bytes, **_: Any) -> GradingOutcome:
        raise UnknownPack(pack)

    worker(uow, grade).run_once()
    [(event_type, payload)] = published(uow)
    assert event_type == ev.GRADING_FAILED and "no-such-pack" in payload["reason"]
    assert payload["cause"] == "infrastructure" and payload["submission_digest"] == DIGEST
    assert uow.jobs.rows["sub-1"]["status"] == "failed"


def test_an_unreachable_artifact_is_retried_then_fails(uow: FakeGradingUnitOfWork) -> None:
    handle(uow, request())

    def fetch(artifact: dict[str, Any]) -> bytes:
        raise ArtifactUnavailable("connection refused")

    w = worker(uow, lambda pack, archive, **_: outcome(), fetch=fetch)
    w.run_once()
    assert published(uow) == []  # requeued after the first attempt, the reason kept
    assert uow.jobs.rows["sub-1"]["status"] == "queued"
    assert "connection refused" in uow.jobs.rows["sub-1"]["reason"]
    w.run_once()
    [(event_type, payload)] = published(uow)
    assert event_type == ev.GRADING_FAILED and "gave up after 2 attempts" in payload["reason"]
    assert payload["cause"] == "infrastructure"


def test_a_grader_error_is_an_infrastructure_failure_retried_not_an_unknown_pack(
    uow: FakeGradingUnitOfWork,
) -> None:
    handle(uow, request())

    def grade(pack: str, archive: bytes, **_: Any) -> GradingOutcome:
        raise KeyError("some internal key")

    w = worker(uow, grade)
    w.run_once()
    assert published(uow) == []  # requeued: the candidate is not blamed for our error
    w.run_once()
    [(event_type, payload)] = published(uow)
    assert event_type == ev.GRADING_FAILED
    assert (
        "grading infrastructure error" in payload["reason"]
        and "unknown grading pack" not in payload["reason"]
    )
    assert "some internal key" not in payload["reason"]  # the details stay in the log


def test_a_verdict_with_an_equality_check_is_completed_in_v2_only(uow: FakeGradingUnitOfWork) -> None:
    handle(uow, request())
    worker(uow, lambda pack, archive, **_: outcome(comparators=(">=", "=="))).run_once()
    [(event_type, payload)] = published(uow)
    assert event_type == ev.GRADING_COMPLETED_V2
    assert [c["comparator"] for c in payload["criteria"]] == [">=", "=="]


def test_a_job_beyond_the_attempt_limit_fails_without_being_graded(uow: FakeGradingUnitOfWork) -> None:
    for n in range(3):
        handle(uow, request(f"sub-{n}", requested_at=(T0 + timedelta(minutes=n)).isoformat()))
    for n in range(3):  # the jobs' requested_at as the event said (the consumer stamps its own time)
        uow.jobs.rows[f"sub-{n}"]["requested_at"] = T0 + timedelta(minutes=n)
    graded: list[str] = []
    w = worker(
        uow, lambda pack, archive, **_: graded.append(pack) or outcome(), max_attempts_per_evaluation=2
    )
    while w.run_once():
        pass
    assert len(graded) == 2
    third = [p for t, p in published(uow) if p["submission_id"] == "sub-2"]
    assert [p["cause"] for p in third] == ["submission"]
    assert "beyond the limit of 2 graded attempts" in third[0]["reason"]


def test_an_infrastructure_failure_does_not_use_up_an_attempt(uow: FakeGradingUnitOfWork) -> None:
    def broken(artifact: dict[str, Any]) -> bytes:
        raise ArtifactUnavailable("connection refused")

    handle(uow, request("sub-1"))
    uow.jobs.rows["sub-1"]["requested_at"] = T0
    worker(uow, lambda pack, archive, **_: outcome(), fetch=broken, max_attempts=1).run_once()
    w = worker(uow, lambda pack, archive, **_: outcome(), max_attempts=1, max_attempts_per_evaluation=2)
    for n in (2, 3, 4):
        handle(uow, request(f"sub-{n}"))
        uow.jobs.rows[f"sub-{n}"]["requested_at"] = T0 + timedelta(minutes=n)
        w.run_once()
    by_submission = {p["submission_id"]: t for t, p in published(uow) if t != ev.GRADING_COMPLETED}
    assert by_submission == {
        "sub-1": ev.GRADING_FAILED,
        "sub-2": ev.GRADING_COMPLETED_V2,
        "sub-3": ev.GRADING_COMPLETED_V2,
        "sub-4": ev.GRADING_FAILED,
    }
    assert uow.jobs.attempts_of("cand-1", "2.EV1") == 3  # sub-1 is not counted


def test_the_candidates_extra_time_factor_reaches_the_grader_and_the_verdicts_record(
    uow: FakeGradingUnitOfWork,
) -> None:
    handle(uow, enrolled())
    handle(uow, granted(1.5, "2026-11-10T08:00:00Z"))
    handle(uow, request())
    factors: list[float] = []

    def grade(pack: str, archive: bytes, *, time_factor: float = 1.0) -> GradingOutcome:
        factors.append(time_factor)
        return dataclasses.replace(outcome(), time_factor=time_factor)

    worker(uow, grade).run_once()
    assert factors == [1.5]
    payload = dict(published(uow))[ev.GRADING_COMPLETED_V2]
    assert payload["accommodation"] == {"extra_time_factor": 1.5, "applied_to": ["sandbox_time_limits"]}


def test_without_an_accommodation_the_factor_is_one_and_the_record_says_nothing(
    uow: FakeGradingUnitOfWork,
) -> None:
    handle(uow, request())
    factors: list[float] = []
    worker(uow, lambda pack, archive, *, time_factor=1.0: factors.append(time_factor) or outcome()).run_once()
    assert factors == [1.0] and "accommodation" not in dict(published(uow))[ev.GRADING_COMPLETED_V2]


def test_the_worker_claims_fairly_across_candidates(uow: FakeGradingUnitOfWork) -> None:
    for n in range(3):
        handle(uow, request(f"a-{n}", candidate_id="cand-a"))
    handle(uow, request("b-0", candidate_id="cand-b"))
    for n, sid in enumerate(("a-0", "a-1", "a-2", "b-0")):
        uow.jobs.rows[sid]["requested_at"] = T0 + timedelta(minutes=n)
    order: list[str] = []
    w = worker(uow, lambda pack, archive, **_: outcome())
    while w.run_once():
        order.append(uow.outbox[-1].data["submission_id"])
    assert order == ["a-0", "b-0", "a-1", "a-2"]  # b's one job is second, not last


# -- recovery at start-up ----------------------------------------------------------------------------------
def test_a_job_interrupted_by_a_crash_is_queued_again(uow: FakeGradingUnitOfWork) -> None:
    handle(uow, request())
    with uow:
        uow.jobs.claim_next(T0)
        uow.commit()
    assert recover_interrupted_jobs(uow) == 1  # type: ignore[arg-type]
    assert uow.jobs.rows["sub-1"]["status"] == "queued" and uow.outbox == []
    assert worker(uow, lambda pack, archive, **_: outcome()).run_once() is True
    assert [t for t, _ in published(uow)] == [ev.GRADING_COMPLETED_V2, ev.GRADING_COMPLETED]


def test_a_job_that_crashed_its_worker_every_time_fails_instead_of_being_retried_forever(
    uow: FakeGradingUnitOfWork,
) -> None:
    handle(uow, request())
    counts = []
    for _restart in range(3):  # claimed, then the worker dies with it, then the service restarts
        with uow:
            uow.jobs.claim_next(T0)
            uow.commit()
        counts.append(recover_interrupted_jobs(uow, max_attempts=3))  # type: ignore[arg-type]
    assert counts == [1, 1, 0]
    [(event_type, payload)] = published(uow)
    assert event_type == ev.GRADING_FAILED and payload["cause"] == "infrastructure"
    assert "interrupted 3 times" in payload["reason"]
    assert worker(uow, lambda pack, archive, **_: outcome()).run_once() is False  # nothing queued any more


# -- the read side -----------------------------------------------------------------------------------------
JURY = Principal(subject="jury-1", roles=frozenset({"jury"}), client_id="certifia-web")
CANDIDATE = Principal(
    subject="cand-1", roles=frozenset({"candidate"}), client_id="certifia-web", candidate_id="cand-1"
)


def test_the_grading_status_of_a_queued_job_shows_its_place_and_the_attempts(
    uow: FakeGradingUnitOfWork,
) -> None:
    for n in range(2):
        handle(uow, request(f"a-{n}", candidate_id="cand-a"))
        uow.jobs.rows[f"a-{n}"]["requested_at"] = T0 + timedelta(minutes=n)
    handle(uow, request("b-0", candidate_id="cand-b"))
    uow.jobs.rows["b-0"]["requested_at"] = T0 + timedelta(minutes=5)
    status = views.grading_status("a-1", JURY, uow=uow, max_attempts=3)  # type: ignore[arg-type]
    assert status is not None
    assert (status["status"], status["queue_position"]) == ("queued", 3)  # a-0, then b-0, then a-1
    assert status["submission_attempts"] == {"used": 2, "limit": 3, "left": 1}
    assert status["report"] is None and status["finished_at"] is None
    assert views.grading_status("nope", JURY, uow=uow, max_attempts=3) is None  # type: ignore[arg-type]


def test_a_finished_job_shows_its_report_exactly_to_the_jury_rounded_to_the_candidate(
    uow: FakeGradingUnitOfWork,
) -> None:
    handle(uow, request())
    worker(uow, lambda pack, archive, **_: outcome()).run_once()
    exact = views.grading_status("sub-1", JURY, uow=uow, max_attempts=3)  # type: ignore[arg-type]
    mine = views.grading_status("sub-1", CANDIDATE, uow=uow, max_attempts=3)  # type: ignore[arg-type]
    assert exact is not None and mine is not None
    assert exact["status"] == "completed" and exact["queue_position"] is None
    assert exact["report"]["metrics"] == {"mae": 0.01}
    assert "metrics" not in mine["report"]  # candidates see verdicts, not raw metrics
    assert exact["submission_attempts"]["used"] == 1


def test_the_accommodation_view(uow: FakeGradingUnitOfWork) -> None:
    with pytest.raises(UnknownCandidate):
        views.accommodation("cand-1", uow=uow)  # type: ignore[arg-type]
    handle(uow, enrolled())
    assert views.accommodation("cand-1", uow=uow)["extra_time_factor"] == 1.0  # type: ignore[arg-type]
    handle(uow, granted(1.5, "2026-11-10T08:00:00Z"))
    answer = views.accommodation("cand-1", uow=uow)  # type: ignore[arg-type]
    assert answer == {
        "candidate_id": "cand-1",
        "extra_time_factor": 1.5,
        "granted_at": datetime(2026, 11, 10, 8, 0, tzinfo=UTC),
        "applied_to": ["sandbox_time_limits"],
    }
