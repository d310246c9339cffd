"""The grading job lifecycle around the engine: queue, fetch, grade, finish with one outcome (grading.failed,
or grading.completed in v2 and, when v1 can carry it, in v1 beside it).

Unit tests: the engine and the artifact fetch are stand-ins here (the engine has its own suite; the
integration test below uses the real one, the real broker and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from certifia_grading.adapters.artifacts import ArtifactUnavailable
from certifia_grading.adapters.orm import messaging
from certifia_grading.bootstrap import GradingContext, bootstrap
from certifia_grading.config import Settings
from certifia_grading.domain import CriterionVerdict, GradingOutcome, UnknownPack
from certifia_grading.domain.model import Comparator
from certifia_grading.service_layer.jobs import GradingWorker, on_grading_requested, recover_interrupted_jobs
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent

DIGEST = "a" * 64


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[GradingContext]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'grading.db'}",
        run_background_workers=False,
    )
    context = bootstrap(settings)
    yield context
    context.db_engine.dispose()


def request(submission_id: str = "sub-1", pack_id: str = "b2_data_cleaning") -> CloudEvent:
    return CloudEvent(
        type=ev.GRADING_REQUESTED,
        source="/certifia/assessment",
        subject="cand-1",
        data={
            "submission_id": submission_id,
            "candidate_id": "cand-1",
            "evaluation_id": "2.EV1",
            "pack_id": pack_id,
            "criteria": ["2.A1.C1.E1"],
            "artifact": {"url": "http://127.0.0.1:1/x", "sha256": DIGEST, "size_bytes": 3},
            "requested_at": "2026-11-25T08:00:00+00:00",
        },
    )


def queue(ctx: GradingContext, event: CloudEvent) -> None:
    with ctx.uow() as uow:
        on_grading_requested(event, uow)
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


def emitted(ctx: GradingContext) -> list[tuple[str, dict[str, Any]]]:
    with ctx.uow() as uow:
        rows = uow.session.execute(select(messaging.outbox.c.type, messaging.outbox.c.payload)).all()
    return [(t, json.loads(p)) for t, p in rows]


def worker(ctx: GradingContext, grade: Any, fetch: Any = lambda artifact: b"zip") -> GradingWorker:
    return GradingWorker(uow_factory=ctx.uow, fetch=fetch, grade=grade, max_attempts=2, idle_seconds=0)


def test_a_requested_job_is_graded_once_and_completed_with_its_verdicts(ctx: GradingContext) -> None:
    queue(ctx, request())
    queue(ctx, request())  # the same request again (another event id): still one job
    calls = []
    w = worker(ctx, lambda pack, archive, **_: calls.append((pack, archive)) or outcome())
    assert w.run_once() is True
    assert w.run_once() is False
    assert calls == [("b2_data_cleaning", b"zip")]
    [(event_type, payload), (also, _)] = emitted(ctx)
    assert (event_type, also) == (ev.GRADING_COMPLETED_V2, ev.GRADING_COMPLETED)
    assert payload["criteria"][0]["verdict"] == "validated"
    assert (payload["pack_version"], payload["dataset_seed"], payload["submission_digest"]) == (
        "1.0.0",
        7,
        DIGEST,
    )


def test_a_submission_that_cannot_be_graded_ends_in_grading_failed_with_the_reason(
    ctx: GradingContext,
) -> None:
    queue(ctx, request())
    worker(ctx, lambda pack, archive, **_: outcome(failed="wall-clock limit of 60 s exceeded")).run_once()
    [(event_type, payload)] = emitted(ctx)
    assert event_type == ev.GRADING_FAILED
    assert payload["reason"] == "wall-clock limit of 60 s exceeded"


def test_an_unknown_pack_fails_without_retry(ctx: GradingContext) -> None:
    queue(ctx, request(pack_id="no-such-pack"))

    def grade(pack: str, archive: bytes, **_: Any) -> GradingOutcome:
        raise UnknownPack(pack)

    worker(ctx, grade).run_once()
    [(event_type, payload)] = emitted(ctx)
    assert event_type == ev.GRADING_FAILED and "no-such-pack" in payload["reason"]


def test_an_unreachable_artifact_is_retried_then_fails(ctx: GradingContext) -> None:
    queue(ctx, request())

    def fetch(artifact: dict[str, Any]) -> bytes:
        raise ArtifactUnavailable("connection refused")

    w = worker(ctx, lambda pack, archive, **_: outcome(), fetch=fetch)
    w.run_once()
    assert emitted(ctx) == []  # requeued after the first attempt
    w.run_once()
    [(event_type, payload)] = emitted(ctx)
    assert event_type == ev.GRADING_FAILED and "gave up after 2 attempts" in payload["reason"]


def test_a_job_interrupted_by_a_crash_is_queued_again(ctx: GradingContext) -> None:
    queue(ctx, request())
    with ctx.uow() as uow:
        uow.jobs.claim_next(__import__("datetime").datetime.now())
        uow.commit()
    assert recover_interrupted_jobs(ctx.uow()) == 1
    assert worker(ctx, lambda pack, archive, **_: outcome()).run_once() is True
    assert [t for t, _ in emitted(ctx)] == [ev.GRADING_COMPLETED_V2, ev.GRADING_COMPLETED]


def test_a_verdict_with_an_equality_check_is_completed_in_v2_only(ctx: GradingContext) -> None:
    # v1's comparator enum has no "==": a v1 reader would dead-letter it, so v1 is not written at all
    queue(ctx, request())
    worker(ctx, lambda pack, archive, **_: outcome(comparators=(">=", "=="))).run_once()
    [(event_type, payload)] = emitted(ctx)
    assert event_type == ev.GRADING_COMPLETED_V2
    assert [c["comparator"] for c in payload["criteria"]] == [">=", "=="]


def test_a_verdict_v1_can_carry_is_completed_in_v2_and_in_v1_beside_it_with_the_same_criteria(
    ctx: GradingContext,
) -> None:
    queue(ctx, request())
    worker(ctx, lambda pack, archive, **_: outcome(comparators=(">=", "<="))).run_once()
    by_type = dict(emitted(ctx))
    assert set(by_type) == {ev.GRADING_COMPLETED_V2, ev.GRADING_COMPLETED}
    assert by_type[ev.GRADING_COMPLETED]["criteria"] == by_type[ev.GRADING_COMPLETED_V2]["criteria"]
    assert [c["comparator"] for c in by_type[ev.GRADING_COMPLETED]["criteria"]] == [">=", "<="]


def test_an_engine_error_is_an_infrastructure_failure_retried_not_an_unknown_pack(
    ctx: GradingContext,
) -> None:
    queue(ctx, request())

    def grade(pack: str, archive: bytes, **_: Any) -> GradingOutcome:
        raise KeyError("some internal key")

    w = worker(ctx, grade)
    w.run_once()
    assert emitted(ctx) == []  # requeued: the candidate is not blamed for our error
    w.run_once()
    [(event_type, payload)] = emitted(ctx)
    assert event_type == ev.GRADING_FAILED
    assert (
        "grading infrastructure error" in payload["reason"]
        and "unknown grading pack" not in payload["reason"]
    )


def test_a_job_that_crashed_its_worker_every_time_fails_instead_of_being_retried_forever(
    ctx: GradingContext,
) -> None:
    """Read in the code before: a job that crashes the service was requeued at every restart, with no
    attempt limit."""
    queue(ctx, request())
    for _restart in range(3):  # claimed, then the worker dies with it (no outcome), then the service restarts
        with ctx.uow() as uow:
            uow.jobs.claim_next(__import__("datetime").datetime.now())
            uow.commit()
        recover_interrupted_jobs(ctx.uow(), max_attempts=3)
    [(event_type, payload)] = emitted(ctx)
    assert event_type == ev.GRADING_FAILED
    assert "interrupted 3 times" in payload["reason"]
    assert worker(ctx, lambda pack, archive, **_: outcome()).run_once() is False  # nothing queued any more


# -- whose failure it is (issue 12: an infrastructure failure used up one of the candidate's attempts) ----
def test_a_failure_says_whose_fault_it_is(ctx: GradingContext) -> None:
    queue(ctx, request("sub-1"))
    worker(ctx, lambda pack, archive, **_: outcome(failed="wall-clock limit of 60 s exceeded")).run_once()
    queue(ctx, request("sub-2", pack_id="no-such-pack"))

    def unknown(pack: str, archive: bytes, **_: Any) -> GradingOutcome:
        raise UnknownPack(pack)

    worker(ctx, unknown).run_once()
    causes = {p["submission_id"]: p["cause"] for t, p in emitted(ctx) if t == ev.GRADING_FAILED}
    assert causes == {"sub-1": "submission", "sub-2": "infrastructure"}


def test_an_infrastructure_failure_does_not_use_up_an_attempt(ctx: GradingContext) -> None:
    """With 2 graded attempts allowed, a first job that the infrastructure failed (given up after its retries)
    leaves both attempts to the candidate: the two next submissions are graded, the third is not."""
    w = GradingWorker(
        uow_factory=ctx.uow,
        fetch=lambda artifact: b"zip",
        grade=lambda pack, archive, **_: outcome(),
        max_attempts=1,
        idle_seconds=0,
        max_attempts_per_evaluation=2,
    )

    def broken(artifact: dict[str, Any]) -> bytes:
        raise ArtifactUnavailable("connection refused")

    queue(ctx, request("sub-1"))
    GradingWorker(
        uow_factory=ctx.uow, fetch=broken, grade=w._grade, max_attempts=1, idle_seconds=0
    ).run_once()
    for sid in ("sub-2", "sub-3", "sub-4"):
        event = request(sid)
        event.data["requested_at"] = f"2026-11-25T08:0{sid[-1]}:00+00:00"
        queue(ctx, event)
        w.run_once()
    by_submission = {p["submission_id"]: t for t, p in emitted(ctx) if t != ev.GRADING_COMPLETED}
    assert by_submission == {
        "sub-1": ev.GRADING_FAILED,
        "sub-2": ev.GRADING_COMPLETED_V2,
        "sub-3": ev.GRADING_COMPLETED_V2,
        "sub-4": ev.GRADING_FAILED,
    }
    with ctx.uow() as uow:
        assert uow.jobs.attempts_of("cand-1", "2.EV1") == 3  # sub-1 is not counted


# -- accommodations (issue 17 item 7: the extra-time factor reaches the sandbox's limits) ---------------
def enrol(ctx: GradingContext) -> None:
    from certifia_grading.service_layer.candidates import on_candidate_enrolled

    with ctx.uow() as uow:
        on_candidate_enrolled(
            CloudEvent(
                type=ev.CANDIDATE_ENROLLED,
                source="/certifia/enrolment",
                subject="cand-1",
                data={
                    "candidate_id": "cand-1",
                    "lms_client": "demo-lms",
                    "enrolled_at": "2026-11-01T08:00:00Z",
                },
            ),
            uow,
        )
        uow.commit()


def grant(ctx: GradingContext, factor: float, at: str, accommodation_id: str = "acc-1") -> None:
    from certifia_grading.service_layer.candidates import on_accommodation_granted

    with ctx.uow() as uow:
        on_accommodation_granted(
            CloudEvent(
                type=ev.ACCOMMODATION_GRANTED,
                source="/certifia/enrolment",
                subject="cand-1",
                data={
                    "accommodation_id": accommodation_id,
                    "candidate_id": "cand-1",
                    "extra_time_factor": factor,
                    "adapted_formats": [],
                    "evidence_reference": "MDPH 2026-0042",
                    "granted_by": "officer-1",
                    "granted_by_role": "officer",
                    "granted_at": at,
                },
            ),
            uow,
        )
        uow.commit()


def test_the_candidates_extra_time_factor_reaches_the_grader_and_the_verdicts_record(
    ctx: GradingContext,
) -> None:
    enrol(ctx)
    grant(ctx, 1.5, "2026-11-10T08:00:00Z")
    grant(ctx, 1.25, "2026-11-01T09:00:00Z", "acc-old")  # an older grant arriving late changes nothing
    queue(ctx, request())
    factors: list[float] = []

    def grade(pack: str, archive: bytes, *, time_factor: float = 1.0) -> GradingOutcome:
        factors.append(time_factor)
        return __import__("dataclasses").replace(outcome(), time_factor=time_factor)

    worker(ctx, grade).run_once()
    assert factors == [1.5]
    payload = dict(emitted(ctx))[ev.GRADING_COMPLETED_V2]
    assert payload["accommodation"] == {"extra_time_factor": 1.5, "applied_to": ["sandbox_time_limits"]}


def test_without_an_accommodation_the_factor_is_one_and_the_record_says_nothing(ctx: GradingContext) -> None:
    enrol(ctx)
    queue(ctx, request())
    factors: list[float] = []
    worker(ctx, lambda pack, archive, *, time_factor=1.0: factors.append(time_factor) or outcome()).run_once()
    assert factors == [1.0] and "accommodation" not in dict(emitted(ctx))[ev.GRADING_COMPLETED_V2]


def test_the_factor_in_force_is_readable_by_the_candidate(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from certifia_grading.bootstrap import create_application
    from certifia_shared.testing import auth

    app = create_application(
        Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}", run_background_workers=False)
    )
    with TestClient(app) as client:
        ctx = app.state.ctx
        enrol(ctx)
        me = auth("candidate", candidate_id="cand-1")
        assert client.get("/candidates/cand-1/accommodation", headers=me).json()["extra_time_factor"] == 1.0
        grant(ctx, 1.5, "2026-11-10T08:00:00Z")
        answer = client.get("/candidates/cand-1/accommodation", headers=me).json()
        assert answer["extra_time_factor"] == 1.5 and answer["granted_at"].startswith("2026-11-10")
        assert client.get("/candidates/nobody/accommodation", headers=auth("officer")).status_code == 404
    app.state.ctx.db_engine.dispose()
