"""Reading and replaying what is on the real topics (e2e assertions count events, not API answers).

The stack's broker is secured: reading is done as its admin principal, and a replay of a topic's records
is published by that topic's owner (its certificate), as the owner's relay would redeliver them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from certifia_shared.bus import bus
from certifia_shared.envelope import headers_dict
from certifia_shared.kafka import make_admin, make_producer
from certifia_shared.testing import read_topic


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]

    @property
    def type(self) -> str:
        return headers_dict(self.headers).get("ce_type", "")

    @property
    def subject(self) -> str:
        return headers_dict(self.headers).get("ce_subject", "")

    @property
    def id(self) -> str:
        return headers_dict(self.headers).get("ce_id", "")


def read_all(stack: Any, topic: str) -> list[Record]:
    """Every record of the topic, from the beginning to the current end."""
    return [
        Record(r.topic, r.key, r.value, list(r.headers or []))
        for r in read_topic(stack.bootstrap, topic, security=stack.kafka_security("admin"))
    ]


def of_candidate(records: list[Record], candidate_id: str, type_suffix: str) -> list[Record]:
    return [r for r in records if r.subject == candidate_id and r.type.endswith(type_suffix)]


def replay(stack: Any, records: list[Record]) -> None:
    """Publish the same records again (same CloudEvent ids), each by its topic's owner: a redelivery as
    the consumers see it."""
    by_topic: dict[str, list[Record]] = {}
    for r in records:
        by_topic.setdefault(r.topic, []).append(r)
    for topic, batch in by_topic.items():
        owner = bus().owner_of(topic).service
        producer = make_producer(stack.bootstrap, f"e2e-replay-{owner}", stack.kafka_security(owner))
        for r in batch:
            producer.send(r.topic, key=r.key, value=r.value, headers=r.headers)
        producer.flush()
        producer.close()


def publish(stack: Any, cloud_events: list[Any]) -> None:
    """New events, each by the owner of its contract's topic, as that owner's relay would publish them."""
    from certifia_shared.contracts import contract

    for event in cloud_events:
        topic = contract(event.type).topic
        owner = bus().owner_of(topic).service
        producer = make_producer(stack.bootstrap, f"e2e-{owner}", stack.kafka_security(owner))
        producer.send(
            topic, key=event.subject.encode(), value=event.kafka_value(), headers=event.kafka_headers()
        )
        producer.flush()
        producer.close()


def wait_group_caught_up(stack: Any, group: str, topics: list[str], timeout: float = 60) -> None:
    """Wait until the consumer group has committed offsets up to the end of every partition."""
    security = stack.kafka_security("admin")
    admin = make_admin(stack.bootstrap, "e2e-offsets", security)
    consumer = KafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=None, **security.client_kwargs())
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or []]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            end = consumer.end_offsets(partitions)
            try:
                committed = admin.list_group_offsets({group: None}).get(group, {})
            except KafkaError as exc:  # a fresh broker: the group coordinator is still loading
                if not exc.retriable:
                    raise
                committed = {}
            if all(tp in committed and committed[tp].offset >= end[tp] for tp in partitions if end[tp] > 0):
                return
            time.sleep(0.5)
        raise AssertionError(f"consumer group {group} did not catch up on {topics} within {timeout}s")
    finally:
        admin.close()
        consumer.close()
