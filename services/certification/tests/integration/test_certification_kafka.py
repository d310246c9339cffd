"""Against the real PostgreSQL test database and the real Kafka broker (scripts/with-test-kafka.sh)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from certifia_certification.adapters.orm import bloc_certificates, diplomas
from certifia_certification.bootstrap import CertificationContext, bootstrap, create_application
from certifia_shared import event_types as ev
from certifia_shared import testing
from certifia_shared.bus import bus
from certifia_shared.contracts import contract
from certifia_shared.db import Conflict
from certifia_shared.envelope import CloudEvent, from_kafka, headers_dict
from certifia_shared.testing import auth, fresh_pg_url, kafka_bootstrap, kafka_settings, wait_for

pytestmark = pytest.mark.integration


def publish(bootstrap_servers: str, events: list[CloudEvent]) -> None:
    """As the other services' relays do: validated, each by its topic's owner (its certificate), key =
    candidate id, CloudEvents in headers."""
    for e in events:
        contract(e.type).validate(e.data)
    testing.publish(events)


def read_topic(bootstrap_servers: str, topic: str) -> list[CloudEvent]:
    """Everything on ``topic`` now, from the beginning, as CloudEvents."""
    return [from_kafka(r.headers, r.value) for r in testing.read_topic(bootstrap_servers, topic)]


def of(events: list[CloudEvent], type: str, candidate_id: str) -> list[CloudEvent]:
    return [e for e in events if e.type == type and e.subject == candidate_id]


def db_count(ctx: CertificationContext, table: Any, candidate_id: str) -> int:
    with ctx.uow() as uow:
        q = select(func.count()).select_from(table).where(table.c.candidate_id == candidate_id)
        return int(uow.session.execute(q).scalar_one())


def unpublished(ctx: CertificationContext) -> int:
    outbox = ctx.tables.outbox
    with ctx.uow() as uow:
        q = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int(uow.session.execute(q).scalar_one())


def test_full_candidate_through_kafka_gets_exactly_one_diploma(
    make_events: Any, settings_for: Callable[..., Any]
) -> None:
    servers = kafka_bootstrap()
    candidate = make_events()
    full = candidate.full_candidate()
    enrolment, assessment_and_thesis = full[:2], full[2:]
    publish(servers, assessment_and_thesis + enrolment)  # blocs and thesis before the enrolment
    settings = settings_for(
        fresh_pg_url("certification"),
        **kafka_settings("certification"),
        run_background_workers=True,
        relay_poll_seconds=0.1,
    )
    with TestClient(create_application(settings)) as client:
        app: Any = client.app
        ctx = app.state.ctx
        consumer = ctx.runtime.consumer
        assert consumer is not None
        cid = candidate.candidate_id

        issued = wait_for(
            lambda: of(read_topic(servers, ev.TOPIC_CERTIFICATION), ev.DIPLOMA_ISSUED, cid),
            timeout=90,
            interval=1.0,
            what="diploma.issued on certifia.certification",
        )
        assert len(issued) == 1
        wait_for(lambda: consumer.state.processed >= len(full), what="the first delivery applied")

        before = consumer.state.processed
        publish(servers, full)  # the SAME events (same ids) again
        wait_for(
            lambda: consumer.state.processed >= before + len(full), timeout=60, what="the replay consumed"
        )
        wait_for(lambda: unpublished(ctx) == 0, what="the outbox relayed")
        on_topic = read_topic(servers, ev.TOPIC_CERTIFICATION)
        assert len(of(on_topic, ev.DIPLOMA_ISSUED, cid)) == 1
        certificates = of(on_topic, ev.BLOC_CERTIFICATE_ISSUED, cid)
        assert sorted(e.data["bloc"] for e in certificates) == ["1", "2", "3", "4", "5B"]
        assert db_count(ctx, diplomas, cid) == 1
        assert db_count(ctx, bloc_certificates, cid) == 5
        # nothing of this candidate was dead-lettered (other suites may leave poison on the shared topics)
        assert [
            r
            for topic in bus().subscription("certification").dead_letter_topics()  # type: ignore[union-attr]
            for r in testing.read_topic(servers, topic)
            if headers_dict(r.headers).get("ce_subject") == cid
        ] == []

        diploma = issued[0].data
        progress = client.get(
            f"/candidates/{cid}/progress", headers=auth("candidate", candidate_id=cid)
        ).json()
        assert progress["diploma_id"] == diploma["diploma_id"] and progress["missing"] == []
        assert progress["thesis"]["status"] == "passed" and progress["option"] == "5B"
        assert diploma["verification_url"].endswith(f"/diplomas/{diploma['diploma_id']}/verification")
        check = client.get(f"/diplomas/{diploma['diploma_id']}/verification").json()
        assert check["valid"] is True and check["holder"] == "Ada Lovelace"
        assert check["title"] == "Ingénieur en Intelligence Artificielle (MS)"

        # an officer revokes it: diploma.revoked reaches the topic once, verification says so
        url = f"/diplomas/{diploma['diploma_id']}/revocation"
        officer = auth("officer", subject="officer-1")
        for _ in range(2):  # the second call changes nothing
            assert client.post(url, json={"reason": "fraude"}, headers=officer).status_code == 200
        wait_for(lambda: unpublished(ctx) == 0, what="the revocation relayed")
        revoked = of(read_topic(servers, ev.TOPIC_CERTIFICATION), ev.DIPLOMA_REVOKED, cid)
        assert len(revoked) == 1 and revoked[0].data["diploma_id"] == diploma["diploma_id"]
        contract(ev.DIPLOMA_REVOKED).validate(revoked[0].data)
        check = client.get(f"/diplomas/{diploma['diploma_id']}/verification").json()
        assert check["valid"] is False and check["reason"].endswith(": fraude")


def _metric(client: TestClient, name: str, **labels: str) -> float:
    """One sample of the service's /metrics (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "{"):
            have = ",".join(sorted(line[len(name) + 1 : line.index("}")].split(",")))
            if have == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_forged_events_on_the_right_topics_are_dead_lettered_and_no_diploma_follows(
    make_events: Any, settings_for: Callable[..., Any]
) -> None:
    """What was done by hand once (eight hand-written records for someone never enrolled, a diploma that
    verified), now with every record on its right topic, accepted by the broker (written by its admin, as
    a misconfigured ACL would let anyone), but carrying a source that does not own the topic."""
    servers = kafka_bootstrap()
    forged = [
        dataclasses.replace(e, source="/certifia/grading-compute")
        for e in make_events().full_candidate(given_name="Forged", family_name="Candidate")
    ]
    cid = forged[0].subject
    unknown_version = dataclasses.replace(
        make_events(cid).enrolled(), type="fr.certifia.enrolment.candidate.enrolled.v2"
    )
    ignored = CloudEvent(
        type=ev.MISSION_REGISTERED, source="/certifia/thesis", subject=cid, data={"candidate_id": cid}
    )
    settings = settings_for(
        fresh_pg_url("certification"),
        **kafka_settings("certification"),
        run_background_workers=True,
        relay_poll_seconds=0.1,
    )
    with TestClient(create_application(settings)) as client:
        consumer = client.app.state.ctx.runtime.consumer  # type: ignore[attr-defined]
        before = consumer.state.dead_lettered
        unsupported = _metric(
            client,
            "certifia_events_unhandled_total",
            service="certification",
            topic=ev.TOPIC_ENROLMENT,
            type=unknown_version.type,
            outcome="unsupported",
        )
        testing.publish([*forged, ignored], as_service="admin")
        testing.publish([unknown_version], as_service="enrolment", topic=ev.TOPIC_ENROLMENT)
        wait_for(
            lambda: consumer.state.dead_lettered >= before + len(forged) + 1,
            timeout=60,
            what="the forged records and the unknown version dead-lettered",
        )
        dead = [
            (r, headers_dict(r.headers))
            for topic in bus().subscription("certification").dead_letter_topics()  # type: ignore[union-attr]
            for r in testing.read_topic(servers, topic)
        ]
        mine = [(r, h) for r, h in dead if h.get("ce_subject") == cid]
        reasons = sorted(h["dlq_reason"].split(":")[0] for _, h in mine)
        assert reasons == ["foreign source"] * len(forged) + [
            "unsupported event type 'fr.certifia.enrolment.candidate.enrolled.v2'"
        ]
        assert all(h["dlq_consumer_group"] == "certifia.certification" for _, h in mine)
        wait_for(lambda: consumer.state.ignored >= 1, what="mission.registered ignored on purpose")
        assert (
            _metric(
                client,
                "certifia_events_unhandled_total",
                service="certification",
                topic=ev.TOPIC_ENROLMENT,
                type=unknown_version.type,
                outcome="unsupported",
            )
            == unsupported + 1
        )
        assert (
            _metric(
                client,
                "certifia_events_unhandled_total",
                service="certification",
                topic=ev.TOPIC_THESIS,
                type=ev.MISSION_REGISTERED,
                outcome="ignored",
            )
            >= 1
        )
        # nothing was issued, nothing is known of the forged candidate
        assert of(read_topic(servers, ev.TOPIC_CERTIFICATION), ev.DIPLOMA_ISSUED, cid) == []
        assert of(read_topic(servers, ev.TOPIC_CERTIFICATION), ev.BLOC_CERTIFICATE_ISSUED, cid) == []
        assert client.get(f"/candidates/{cid}/progress", headers=auth("officer")).status_code == 404


def test_concurrent_handlers_on_postgresql_issue_one_diploma(
    make_events: Any, settings_for: Callable[..., Any]
) -> None:
    """Two workers apply one candidate's events at once, in opposite orders: one diploma, one certificate
    per bloc (the candidate row lock serialises them; the unique constraints are the last line)."""
    ctx = bootstrap(settings_for(fresh_pg_url("certification")))
    assert ctx.runtime.consumer is not None
    handlers = ctx.runtime.consumer.handlers
    candidate = make_events()
    full = candidate.full_candidate()
    errors: list[BaseException] = []

    def worker(events: list[CloudEvent]) -> None:
        for event in events:
            for _attempt in range(5):  # as the consumer retries a failed record
                try:
                    with ctx.uow() as uow:
                        handlers[event.type](event, uow)
                        uow.commit()
                    break
                except (
                    Conflict,
                    OperationalError,
                ) as exc:  # a unique constraint lost: the unit of work says Conflict
                    errors.append(exc)
            else:
                raise AssertionError(f"{event.type} never applied")

    threads = [threading.Thread(target=worker, args=(order,)) for order in (full, list(reversed(full)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    cid = candidate.candidate_id
    assert db_count(ctx, diplomas, cid) == 1
    assert db_count(ctx, bloc_certificates, cid) == 5
    outbox = ctx.tables.outbox
    with ctx.uow() as uow:
        types = list(uow.session.execute(select(outbox.c.type).where(outbox.c.key == cid)).scalars())
    assert types.count(ev.DIPLOMA_ISSUED) == 1 and types.count(ev.BLOC_CERTIFICATE_ISSUED) == 5
    ctx.db_engine.dispose()
