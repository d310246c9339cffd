"""The event bus of the running stack (the broker and processes `make run` starts): secured, every consumer
settled in its group, dead letters listed and replayed exactly once."""

from __future__ import annotations

import uuid
from typing import Any

import e2e_events as events
import pytest
from kafka import KafkaConsumer
from kafka.errors import KafkaError

from certifia_shared import event_types as ev
from certifia_shared.bus import bus
from certifia_shared.config import KafkaSecurity
from certifia_shared.envelope import CloudEvent
from certifia_shared.kafka import make_admin
from certifia_shared.testing import enrolled_event, wait_for

pytestmark = pytest.mark.e2e
SERVICES = ("enrolment", "assessment", "grading-compute", "thesis", "certification")


def held_partitions(group: dict[str, Any]) -> dict[str, set[int]]:
    held: dict[str, set[int]] = {}
    for member in group["members"]:
        for entry in member["member_assignment"]["assigned_partitions"]:
            held.setdefault(entry["topic"], set()).update(entry["partitions"])
    return held


def test_services_started_in_a_random_order_settle_every_group_and_every_partition(stack: Any) -> None:
    """The stack fixture started the services in a random order on a fresh broker (the order is in the
    test log); every group is Stable and its member holds every partition it reads."""
    security = stack.kafka_security("admin")
    admin = make_admin(stack.bootstrap, "e2e-groups", security)
    reader = KafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=None, **security.client_kwargs())
    try:
        for sub in bus().subscriptions.values():
            every = {t: set(reader.partitions_for_topic(t) or ()) for t in sub.topics}
            assert all(every.values()), every

            def settled(group_id: str = sub.group, wanted: dict[str, set[int]] = every) -> Any:
                group = admin.describe_groups([group_id])[group_id]
                held = held_partitions(group)
                ok = group["group_state"] == "Stable" and all(
                    p <= held.get(t, set()) for t, p in wanted.items()
                )
                return group if ok else None

            group = wait_for(settled, timeout=30, what=f"{sub.group} Stable with every partition held")
            assert len(group["members"]) == 1
        for name in SERVICES:
            checks = stack.wait_ready(name)
            assert checks["consumer"] == "ok", checks
            assert checks["consumer_group"]["membership"] == "ok", checks
    finally:
        admin.close()
        reader.close()


def test_the_local_stack_runs_secured(stack: Any) -> None:
    """Each service connects with its own certificate; a plaintext client gets no answer."""
    env = stack.kafka_env("certification")
    if env["KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT":
        pytest.skip("KAFKA_SECURITY=plaintext: the insecure development broker (to measure what TLS costs)")
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SSL"
    assert env["KAFKA_SSL_CERTFILE"].endswith("/certification.crt")
    with pytest.raises(KafkaError):
        make_admin(
            stack.bootstrap, "e2e-plain", KafkaSecurity(protocol="PLAINTEXT"), bootstrap_timeout_ms=3000
        ).list_topics()


def test_a_dead_letter_is_listed_and_replayed_exactly_once(stack: Any, demo: Any) -> None:
    """thesis hears of a withdrawal before the enrolment: it cannot apply it and dead-letters it. Once the
    enrolment has arrived, an operator lists the dead letters and replays that one (what
    `make replay-dead-letter` runs): it is applied once; a second replay changes nothing."""
    cid = f"e2e-dlq-{uuid.uuid4().hex[:8]}"
    withdrawn = CloudEvent(
        type=ev.CANDIDATE_WITHDRAWN,
        source="/certifia/enrolment",
        subject=cid,
        data={
            "candidate_id": cid,
            "withdrawn_at": "2026-10-01T09:00:00+00:00",
            "reason": "Réorientation professionnelle.",
            "withdrawn_by_role": "candidate",
        },
    )
    events.publish(stack, [withdrawn])

    def dead_letter() -> str | None:
        listed = stack.dead_letters("thesis", "list")
        assert listed.returncode == 0, listed.stderr
        lines = [line for line in listed.stdout.splitlines() if withdrawn.id in line]
        return lines[0].split()[0] if lines else None

    address = wait_for(dead_letter, timeout=60, interval=1.0, what="thesis's dead letter of the withdrawal")
    assert address.startswith("certifia.enrolment.certifia.thesis.dlq:")
    events.publish(stack, [enrolled_event(cid)])
    officer = demo.headers("officer")
    thesis = stack.url("thesis") + f"/candidates/{cid}/thesis"
    wait_for(lambda: demo.http.get(thesis, headers=officer).status_code == 200, what="thesis to know them")
    assert demo.http.get(thesis, headers=officer).json()["withdrawn_at"] is None

    first = stack.dead_letters("thesis", "replay", address)
    assert first.stdout.split() == [address, "applied"], first.stderr
    assert demo.http.get(thesis, headers=officer).json()["withdrawn_at"].startswith("2026-10-01")
    second = stack.dead_letters("thesis", "replay", address)
    assert second.returncode == 0 and second.stdout.split() == [address, "duplicate"], second.stderr
