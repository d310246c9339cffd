"""One candidate from enrolment to diploma through REST only, on the real broker and PostgreSQL."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import e2e_events as events
import httpx
import pytest
from standardwebhooks import Webhook

from certifia_enrolment.domain.webhooks import WEBHOOK_EVENTS
from certifia_shared import event_types as ev
from certifia_shared.bus import bus
from certifia_shared.testing import WebhookReceiver, wait_for

pytestmark = pytest.mark.e2e
DIPLOMA = ev.DIPLOMA_ISSUED
CERTIFICATE = ev.BLOC_CERTIFICATE_ISSUED


def certification_records(stack: Any) -> list[events.Record]:
    return events.read_all(stack, ev.TOPIC_CERTIFICATION)


def test_full_lifecycle_gives_exactly_one_diploma_even_when_every_event_is_replayed(
    stack: Any, demo: Any
) -> None:
    lms = WebhookReceiver()
    result = demo.run(option="5B", lms_endpoint=lms)
    cid = result["candidate_id"]
    assert result["verification"]["valid"] is True

    records = certification_records(stack)
    assert len(events.of_candidate(records, cid, "diploma.issued.v1")) == 1
    certificates = events.of_candidate(records, cid, "bloc_certificate.issued.v1")
    assert sorted(_bloc(r) for r in certificates) == ["1", "2", "3", "4", "5B"]

    # the thesis: deposited, its defence scheduled, then defended, in that order, on certifia.thesis
    thesis = [r for r in events.read_all(stack, ev.TOPIC_THESIS) if r.subject == cid]
    assert [r.type for r in thesis] == [
        ev.MISSION_REGISTERED,
        ev.THESIS_SUBMITTED,
        ev.DEFENCE_SCHEDULED,
        ev.THESIS_DEFENDED,
    ]

    # every event the candidate caused, delivered a second time to every consumer
    upstream = [ev.TOPIC_ENROLMENT, ev.TOPIC_ASSESSMENT, ev.TOPIC_GRADING, ev.TOPIC_THESIS]
    replayed = [r for topic in upstream for r in events.read_all(stack, topic) if r.subject == cid]
    assert len(replayed) > 100  # enrolment, ~150 criterion decisions, competencies, blocs, thesis
    events.replay(stack, replayed)
    for subscription in bus().subscriptions.values():
        events.wait_group_caught_up(stack, subscription.group, list(subscription.topics))
    after = certification_records(stack)
    assert len(events.of_candidate(after, cid, "diploma.issued.v1")) == 1
    assert len(events.of_candidate(after, cid, "bloc_certificate.issued.v1")) == 5
    # and assessment did not decide anything twice
    assessment = events.read_all(stack, ev.TOPIC_ASSESSMENT)
    passed = events.of_candidate(assessment, cid, "bloc.passed.v1")
    assert len(passed) == 2 * 5  # the original five and their replayed copies, nothing new

    # the LMS heard of each of the candidate's events exactly once, signed, replays included
    originals = {
        r.id: r.type
        for t in [*upstream, ev.TOPIC_CERTIFICATION]
        for r in events.read_all(stack, t)
        if r.subject == cid
    }
    expected = Counter(WEBHOOK_EVENTS[t] for t in originals.values() if t in WEBHOOK_EVENTS)
    assert expected["diploma.issued"] == 1 and expected["criterion.validated"] > 100
    wait_for(
        lambda: webhooks_of(lms, result["webhook_secret"], cid) == expected,
        timeout=60,
        what="the LMS's webhooks",
    )
    time.sleep(1.0)  # anything late would be a duplicate
    assert webhooks_of(lms, result["webhook_secret"], cid) == expected
    lms.close()


def webhooks_of(lms: WebhookReceiver, secret: str, cid: str) -> Counter[str]:
    """The event names the LMS received for the candidate; every signature must verify."""
    messages = [Webhook(secret).verify(body, headers) for headers, body in list(lms.received)]
    return Counter(m["type"] for m in messages if m["candidate"]["id"] == cid)


def test_a_service_killed_mid_lifecycle_loses_nothing(stack: Any, demo: Any) -> None:
    """certification is killed (SIGKILL) while blocs pass, assessment is killed between decisions:
    once restarted they catch up and the candidate still gets exactly one diploma."""
    killed = {"done": False}
    original = demo.call

    def call_and_kill(method: str, service: str, path: str, **kw: Any) -> Any:
        answer = original(method, service, path, **kw)
        if service == "assessment" and path.endswith("/decisions") and not killed["done"]:
            killed["done"] = True
            stack.stop_service("certification", kill=True)
            stack.stop_service("assessment", kill=True)
            stack.start_service("assessment")
            stack.wait_ready("assessment")
        return answer

    demo.call = call_and_kill
    restarted: dict[str, Any] = {}
    original_wait = demo.wait

    def wait_and_restart(what: str, probe: Any, timeout: float = 120.0) -> Any:
        if ("certification" in what or "blocs" in what) and not restarted:
            stack.start_service("certification")
            stack.wait_ready("certification")
            restarted["at"] = what
        return original_wait(what, probe, timeout)

    demo.wait = wait_and_restart
    try:
        result = demo.run(option="5A", grade_submission=False)
    finally:
        demo.call = original
        demo.wait = original_wait
    assert killed["done"] and restarted
    cid = result["candidate_id"]
    records = certification_records(stack)
    assert len(events.of_candidate(records, cid, "diploma.issued.v1")) == 1
    assert sorted(_bloc(r) for r in events.of_candidate(records, cid, "bloc_certificate.issued.v1")) == [
        "1",
        "2",
        "3",
        "4",
        "5A",
    ]


def test_bad_input_is_refused_with_the_field_named_and_nothing_emitted(stack: Any, demo: Any) -> None:
    before = {t: len(events.read_all(stack, t)) for t in (ev.TOPIC_ENROLMENT, ev.TOPIC_ASSESSMENT)}
    lms = demo.headers("lms")
    jury = demo.headers("jury")
    officer = demo.headers("officer")
    unknown = httpx.post(
        stack.url("assessment") + "/candidates/nobody/decisions",
        headers=jury,
        json={"criterion_id": "1.A1.C1.E1", "outcome": "validated"},
    )
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "candidate_id"
    candidate = httpx.post(
        stack.url("enrolment") + "/candidates",
        headers=lms,
        json={"external_id": "bad-input", "given_name": "A", "family_name": "B", "email": "a@b.org"},
    ).json()
    bad_option = httpx.put(
        stack.url("enrolment") + f"/candidates/{candidate['id']}/option", headers=lms, json={"option": "5C"}
    )
    assert bad_option.status_code == 422 and "option" in bad_option.json()["errors"][0]["field"]
    demo.wait(
        "thesis to learn of the candidate",
        lambda: (
            httpx.get(
                stack.url("thesis") + f"/candidates/{candidate['id']}/thesis", headers=officer
            ).status_code
            == 200
        ),
    )
    bad_mission = httpx.post(
        stack.url("thesis") + f"/candidates/{candidate['id']}/missions",
        headers=officer,
        json={"company": "X", "start_date": "2026-06-01", "end_date": "2026-01-01", "fte": 1.0},
    )
    assert bad_mission.status_code == 422 and "end_date" in bad_mission.json()["errors"][0]["field"]
    after = {t: len(events.read_all(stack, t)) for t in before}
    assert after[ev.TOPIC_ENROLMENT] == before[ev.TOPIC_ENROLMENT] + 1  # only the valid enrolment
    assert after[ev.TOPIC_ASSESSMENT] == before[ev.TOPIC_ASSESSMENT]


def _bloc(record: events.Record) -> str:
    import json

    return str(json.loads(record.value)["bloc"])
