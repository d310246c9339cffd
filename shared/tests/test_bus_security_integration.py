"""The event bus's own security, on the real broker the integration suite runs (scripts/with-test-kafka.sh):
mutual TLS on every connection, one principal per service, ACLs from contracts/bus.yaml, topics created by
the admin step only.

What these tests attack is what was done by hand once: a plain Kafka client on the broker's port wrote
forged candidate events and got a diploma issued. Each test fails on a PLAINTEXT or ACL-less broker.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ACL, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType
from kafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
)

from certifia_shared import event_types as ev
from certifia_shared import pki
from certifia_shared.bus import bus, dead_letter_topic
from certifia_shared.bus_admin import current_acls, grants, provision, sync_acls
from certifia_shared.config import KafkaSecurity
from certifia_shared.envelope import CloudEvent
from certifia_shared.kafka import make_admin, make_producer
from certifia_shared.testing import enrolled_event, kafka_bootstrap, kafka_security

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def secured() -> None:
    if kafka_security().protocol != "SSL":
        pytest.skip("the test broker runs plaintext (KAFKA_SECURITY=plaintext): nothing to attack")


def _pki() -> Path:
    return Path(kafka_security().cafile).parent


def _fails_to_connect(**client: object) -> BaseException:
    """The error a client gets on the broker's port (it must get one, and quickly)."""
    with pytest.raises((KafkaError, OSError)) as err:
        admin = KafkaAdminClient(
            bootstrap_servers=kafka_bootstrap(),
            client_id="intruder",
            request_timeout_ms=3000,
            bootstrap_timeout_ms=4000,
            **client,
        )
        try:
            admin.list_topics()
        finally:
            admin.close()
    return err.value


def test_a_plaintext_client_cannot_connect() -> None:
    assert isinstance(_fails_to_connect(), KafkaTimeoutError)


def test_a_tls_client_without_a_certificate_cannot_connect() -> None:
    _fails_to_connect(security_protocol="SSL", ssl_cafile=str(_pki() / "ca.crt"))


def test_a_certificate_from_another_authority_is_refused(tmp_path: Path) -> None:
    """Same CN as a real service, signed by a CA the broker does not trust."""
    pki.create(tmp_path / "rogue", principals=["broker", "certification"])
    rogue = tmp_path / "rogue"
    _fails_to_connect(
        security_protocol="SSL",
        ssl_cafile=str(_pki() / "ca.crt"),
        ssl_certfile=str(rogue / "certification.crt"),
        ssl_keyfile=str(rogue / "certification.key"),
    )


@pytest.fixture
def stranger(tmp_path: Path) -> KafkaSecurity:
    """A certificate the broker's CA did sign, for a principal bus.yaml does not know (User:stranger)."""
    ca = pki.CertificateAuthority.load(_pki())
    identity = ca.write_identity(tmp_path, "stranger")
    return KafkaSecurity("SSL", str(_pki() / "ca.crt"), str(identity.certfile), str(identity.keyfile))


def _probe_event(topic: str) -> CloudEvent:
    """A valid event of ``topic``'s owner: the services of the other suites share this broker, and must
    not be handed poison by these tests when a write is (rightly) accepted."""
    cid = f"probe-{uuid.uuid4().hex[:8]}"
    if topic == ev.TOPIC_ASSESSMENT:
        data = {
            "submission_id": f"s-{cid}",
            "candidate_id": cid,
            "evaluation_id": "2.EV1",
            "digest": "ab" * 32,
            "size_bytes": 1,
            "media_type": "application/zip",
            "filename": "probe.zip",
            "received_at": "2026-10-01T09:00:00+00:00",
        }
        return CloudEvent(type=ev.SUBMISSION_RECEIVED, source="/certifia/assessment", subject=cid, data=data)
    return enrolled_event(cid, given_name="Probe", family_name="Client")


def _send(security: KafkaSecurity, topic: str) -> None:
    event = _probe_event(topic)
    producer = make_producer(kafka_bootstrap(), "probe", security)
    try:
        producer.send(
            topic, key=event.subject.encode(), value=event.kafka_value(), headers=event.kafka_headers()
        ).get(timeout=15)
    finally:
        producer.close(timeout=5)


def test_an_authenticated_stranger_can_write_nothing(stranger: KafkaSecurity) -> None:
    for topic in bus().topics():
        with pytest.raises(TopicAuthorizationFailedError):
            _send(stranger, topic)


@pytest.mark.parametrize(
    "topic", [ev.TOPIC_ASSESSMENT, ev.TOPIC_CERTIFICATION, ev.TOPIC_THESIS, ev.TOPIC_GRADING]
)
def test_enrolment_cannot_write_another_services_topic(topic: str) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        _send(kafka_security("enrolment"), topic)


def test_enrolment_writes_its_own_topic_and_its_own_dead_letters() -> None:
    _send(kafka_security("enrolment"), ev.TOPIC_ENROLMENT)
    _send(kafka_security("enrolment"), dead_letter_topic(ev.TOPIC_ASSESSMENT, "certifia.enrolment"))


def test_a_service_cannot_write_another_consumers_dead_letters() -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        _send(kafka_security("enrolment"), dead_letter_topic(ev.TOPIC_ASSESSMENT, "certifia.certification"))


def _seen(security: KafkaSecurity, topic: str, group: str | None) -> tuple[bool, int]:
    """(whether ``topic`` is visible, how many of its records arrive) for a reader with ``security``,
    in ``group`` (subscribed) or without a group (partitions assigned, as a tool would read)."""
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap(),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **security.client_kwargs(),
    )
    try:
        visible = topic in consumer.topics()
        if group is None:
            consumer.assign([TopicPartition(topic, p) for p in range(3)])
            consumer.seek_to_beginning()
        else:
            consumer.subscribe([topic])
        count = 0
        for _ in range(8):
            count += sum(len(batch) for batch in consumer.poll(timeout_ms=500).values())
        return visible, count
    finally:
        consumer.close()


def test_a_service_reads_only_with_its_own_group() -> None:
    """enrolment reads certifia.assessment (LMS webhooks) — but not as certification's group."""
    _send(kafka_security("assessment"), ev.TOPIC_ASSESSMENT)
    with pytest.raises(GroupAuthorizationFailedError):
        _seen(kafka_security("enrolment"), ev.TOPIC_ASSESSMENT, "certifia.certification")


@pytest.mark.parametrize(
    "topic", [ev.TOPIC_ASSESSMENT, dead_letter_topic(ev.TOPIC_ENROLMENT, "certifia.certification")]
)
def test_a_service_cannot_read_a_topic_it_does_not_consume(topic: str) -> None:
    """thesis consumes certifia.enrolment only: the others' records never reach it, nor does it see them."""
    owner = kafka_security("assessment" if topic == ev.TOPIC_ASSESSMENT else "certification")
    _send(owner, topic)
    assert _seen(kafka_security("admin"), topic, None)[1] >= 1  # the record is there
    assert _seen(kafka_security("thesis"), topic, None) == (False, 0)
    assert _seen(kafka_security("thesis"), topic, "certifia.thesis") == (False, 0)


def test_no_service_can_create_a_topic() -> None:
    admin = make_admin(kafka_bootstrap(), "probe", kafka_security("certification"))
    try:
        with pytest.raises(KafkaError):
            admin.create_topics({f"certifia.rogue.{uuid.uuid4().hex[:6]}": {"num_partitions": 1}})
    finally:
        admin.close()


def test_the_admin_step_made_every_topic_and_exactly_the_declared_acls() -> None:
    admin = make_admin(kafka_bootstrap(), "probe", kafka_security("admin"))
    try:
        topics = set(admin.list_topics())
        assert set(bus().topics()) | set(bus().dead_letter_topics()) <= topics
        held = {
            (a.principal, a.resource_pattern.resource_name, a.operation.name) for a in current_acls(admin)
        }
        wanted = {(g.principal, g.name, g.operation) for g in grants(bus())}
        ours = {h for h in held if h[0] in {f"User:{s}" for s in bus().owners}}
        assert ours == wanted
    finally:
        admin.close()


@pytest.fixture
def admin_client() -> Iterator[object]:
    admin = make_admin(kafka_bootstrap(), "probe", kafka_security("admin"))
    yield admin
    admin.close()


def test_provisioning_again_removes_a_permission_bus_yaml_does_not_grant(admin_client: object) -> None:
    """Someone granted enrolment the right to write certifia.certification by hand: the next admin step
    takes it away, and enrolment cannot write there again."""
    rogue = ACL(
        "User:enrolment",
        "*",
        ACLOperation.WRITE,
        ACLPermissionType.ALLOW,
        ResourcePattern(ResourceType.TOPIC, ev.TOPIC_CERTIFICATION),
    )
    admin_client.create_acls([rogue])  # type: ignore[attr-defined]
    created, deleted = sync_acls(admin_client, bus())  # type: ignore[arg-type]
    assert created == [] and [(d.principal, d.name, d.operation) for d in deleted] == [
        ("User:enrolment", ev.TOPIC_CERTIFICATION, "WRITE")
    ]
    with pytest.raises(TopicAuthorizationFailedError):
        _send(kafka_security("enrolment"), ev.TOPIC_CERTIFICATION)
    assert provision(kafka_bootstrap(), kafka_security("admin")) == {
        "topics_created": 0,
        "acls_created": 0,
        "acls_deleted": 0,
    }
