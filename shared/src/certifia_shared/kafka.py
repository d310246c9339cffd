"""Kafka clients with the settings every service needs (kafka-python 3.x), over mutual TLS.

Services never create topics: the admin step (``certifia_shared.bus_admin provision``) does, with the
ACLs, before any service starts. A service's principal can write only its own topic and its group's
dead-letter topics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from certifia_shared.bus import dead_letter_topic
from certifia_shared.config import KafkaSecurity

log = logging.getLogger(__name__)

PARTITIONS = 3
PLAINTEXT = KafkaSecurity(protocol="PLAINTEXT")

__all__ = ["PARTITIONS", "dead_letter_topic", "make_admin", "make_consumer", "make_producer", "read_to_end"]


def make_producer(bootstrap: str, client_id: str, security: KafkaSecurity) -> KafkaProducer:
    # acks=all + idempotence: a retried send is written once, in order per partition.
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        retries=5,
        linger_ms=5,
        request_timeout_ms=15000,
        **security.client_kwargs(),
    )


def make_consumer(bootstrap: str, group_id: str, client_id: str, security: KafkaSecurity) -> KafkaConsumer:
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
        **security.client_kwargs(),
    )


def make_admin(bootstrap: str, client_id: str, security: KafkaSecurity, **kwargs: object) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id=client_id, **security.client_kwargs(), **kwargs
    )


def read_to_end(
    bootstrap: str, security: KafkaSecurity, topics: Iterable[str], *, timeout_s: float = 30.0
) -> list[Any]:
    """Every record of ``topics`` from the beginning to their current end (kafka-python ConsumerRecords),
    read without a group (nothing committed): what tools, tests and the dead-letter listing read."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id="certifia-reader",
        **security.client_kwargs(),
    )
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in partitions) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()
