"""Kafka clients with the settings every service needs (kafka-python 3.x)."""

from __future__ import annotations

import contextlib
import logging
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from certifia_shared.contracts import topics as contract_topics

log = logging.getLogger(__name__)

PARTITIONS = 3


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def make_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    # acks=all + idempotence: a retried send is written once, in order per partition.
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        retries=5,
        linger_ms=5,
        request_timeout_ms=15000,
    )


def make_consumer(bootstrap: str, group_id: str, client_id: str) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,  # offsets are committed after the database commit
        auto_offset_reset="earliest",
        max_poll_records=50,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=300000,
    )


def ensure_topics(bootstrap: str, *, deadline_s: float = 60.0) -> None:
    """Create every contract topic and its dead-letter topic (idempotent, waits for the broker)."""
    names = sorted(contract_topics())
    wanted = [*names, *(dlq_topic(t) for t in names)]
    end = time.monotonic() + deadline_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="certifia-admin")
            break
        except KafkaError as exc:
            if time.monotonic() > end:
                raise RuntimeError(
                    f"Kafka at {bootstrap} does not answer ({exc}); start it with `scripts/kafka.sh start`"
                ) from exc
            time.sleep(1)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(
                    [NewTopic(name=t, num_partitions=PARTITIONS, replication_factor=1) for t in missing]
                )
            log.info("created topics %s", missing)
    finally:
        admin.close()
