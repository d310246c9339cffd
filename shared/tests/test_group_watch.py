"""The consumer's own watch on its group membership, with fake clients (no broker).

The real thing (services started in a random order, every group Stable and every partition held) is in
e2e/test_bus_security.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from kafka.structs import TopicPartition

from certifia_shared.group_watch import GroupWatch, Rejoin

TOPICS = ["certifia.enrolment", "certifia.thesis"]
ME = "member-1"


@dataclass
class State:
    membership: str = "not started"
    lag: dict[str, int] = field(default_factory=dict)


class FakeConsumer:
    def __init__(self) -> None:
        self.member_state = "STABLE"
        self.assigned = {TopicPartition(t, p) for t in TOPICS for p in range(3)}
        self.available = set(TOPICS)
        self.ends = {tp: 10 for tp in self.assigned}
        self.positions = {tp: 10 for tp in self.assigned}
        # kafka-python's MemberState values are strings such as '<stable>'
        self._coordinator = SimpleNamespace(
            group_metadata=lambda: SimpleNamespace(member_id=ME, state=f"<{self.member_state.lower()}>")
        )

    def topics(self) -> set[str]:
        return self.available

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends.get(tp, 0) for tp in partitions}

    def position(self, tp: TopicPartition) -> int:
        return self.positions.get(tp, 0)


def member(member_id: str, holds: dict[str, list[int]]) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "member_assignment": {
            "assigned_partitions": [{"topic": t, "partitions": p} for t, p in holds.items()]
        },
    }


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def watch(consumer: FakeConsumer, group: dict[str, Any], clock: Clock) -> GroupWatch:
    return GroupWatch(
        consumer,
        service="test",
        group_id="certifia.test",
        describe_group=lambda _g: group,
        rejoin_after_s=15,
        clock=clock,
    )


def everything() -> dict[str, list[int]]:
    return {t: [0, 1, 2] for t in TOPICS}


def test_a_member_holding_its_partitions_is_ok_and_reports_its_lag() -> None:
    consumer = FakeConsumer()
    consumer.positions[TopicPartition("certifia.thesis", 1)] = 4
    state = State()
    watch(consumer, {"group_state": "Stable", "members": [member(ME, everything())]}, Clock()).check(
        TOPICS, state
    )
    assert state.membership == "ok"
    assert state.lag == {"certifia.enrolment": 0, "certifia.thesis": 6}


def test_a_group_that_lost_this_member_is_rejoined_after_the_grace_period() -> None:
    """The stall once seen: the broker's group is Empty while the thread keeps polling."""
    consumer, clock, state = FakeConsumer(), Clock(), State()
    w = watch(consumer, {"group_state": "Empty", "members": []}, clock)
    w.check(TOPICS, state)
    assert state.membership.startswith("the broker does not list this consumer")
    clock.now += 10
    w.check(TOPICS, state)  # still within the grace period: no rejoin yet
    clock.now += 6
    with pytest.raises(Rejoin, match="does not list this consumer"):
        w.check(TOPICS, state)


def test_a_topic_no_member_holds_is_a_problem() -> None:
    consumer, state = FakeConsumer(), State()
    consumer.assigned = {TopicPartition("certifia.enrolment", p) for p in range(3)}
    group = {"group_state": "Stable", "members": [member(ME, {"certifia.enrolment": [0, 1, 2]})]}
    assert watch(consumer, group, Clock()).problem(TOPICS, state) == (
        "no member of certifia.test holds certifia.thesis partitions [0, 1, 2]"
    )


def test_a_member_with_nothing_assigned_while_others_hold_everything_is_knowingly_idle() -> None:
    consumer, state = FakeConsumer(), State()
    consumer.assigned = set()
    group = {"group_state": "Stable", "members": [member(ME, {}), member("other", everything())]}
    assert watch(consumer, group, Clock()).problem(TOPICS, state) is None
    assert state.membership.startswith("idle")


def test_a_rebalancing_member_is_not_settled() -> None:
    consumer, state = FakeConsumer(), State()
    consumer.member_state = "REBALANCING"
    problem = watch(consumer, {"members": []}, Clock()).problem(TOPICS, state)
    assert problem == "not a stable member of certifia.test (state REBALANCING)"


def test_recovery_resets_the_grace_period() -> None:
    consumer, clock, state = FakeConsumer(), Clock(), State()
    group: dict[str, Any] = {"group_state": "Empty", "members": []}
    w = watch(consumer, group, clock)
    w.check(TOPICS, state)
    clock.now += 10
    group.update({"group_state": "Stable", "members": [member(ME, everything())]})
    w.check(TOPICS, state)
    assert state.membership == "ok"
    group.update({"group_state": "Empty", "members": []})
    clock.now += 10
    w.check(TOPICS, state)  # a new problem starts a new grace period
    clock.now += 10
    w.check(TOPICS, state)


def test_subscribing_waits_until_the_topics_exist() -> None:
    consumer, state = FakeConsumer(), State()
    consumer.available = {"certifia.enrolment"}
    stop = threading.Event()
    w = watch(consumer, {}, Clock())
    thread = threading.Thread(target=w.wait_for_topics, args=(TOPICS, stop, state))
    thread.start()
    thread.join(timeout=0.3)
    assert thread.is_alive() and "certifia.thesis" in state.membership
    consumer.available = set(TOPICS)
    thread.join(timeout=3)
    assert not thread.is_alive()
