"""Reading and replaying what is on the real topics (e2e assertions count events, not API answers)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from certifia_shared.envelope import headers_dict
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


def read_all(bootstrap: str, topic: str) -> list[Record]:
    """Every record of the topic, from the beginning to the current end."""
    return [Record(r.topic, r.key, r.value, list(r.headers or [])) for r in read_topic(bootstrap, topic)]


def of_candidate(records: list[Record], candidate_id: str, type_suffix: str) -> list[Record]:
    return [r for r in records if r.subject == candidate_id and r.type.endswith(type_suffix)]


def replay(bootstrap: str, records: list[Record]) -> None:
    """Publish the same records again (same CloudEvent ids): a redelivery as the consumers see it."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for r in records:
        producer.send(r.topic, key=r.key, value=r.value, headers=r.headers)
    producer.flush()
    producer.close()


def wait_group_caught_up(bootstrap: str, group: str, topics: list[str], timeout: float = 60) -> None:
    """Wait until the consumer group has committed offsets up to the end of every partition."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
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
