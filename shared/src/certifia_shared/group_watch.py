"""A consumer that cannot stall silently: it waits for its topics, checks its group membership against
the broker, measures its lag, and asks to rejoin when something stays wrong.

What once happened: a consumer joined while its topics had no metadata, processed a first batch, then its
group was ``Empty`` on the broker while the thread kept polling and readiness said ``ok``. The watch asks
the group coordinator (``DescribeGroups``, the broker's own view) whether this member is in the group and
whether the group's members hold every partition of every subscribed topic; while the answer is no for
``rejoin_after_s`` seconds it raises :class:`Rejoin`, and the loop builds a fresh consumer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from certifia_shared.metrics import CONSUMER_LAG
from certifia_shared.telemetry import log_fields

log = logging.getLogger(__name__)


class Rejoin(Exception):
    """The consumer is not doing its job in its group; build a new one."""


class WatchedState(Protocol):
    membership: str
    lag: dict[str, int]


class GroupWatch:
    def __init__(
        self,
        consumer: Any,
        *,
        service: str,
        group_id: str,
        describe_group: Callable[[str], dict[str, Any]] | None = None,
        close: Callable[[], None] = lambda: None,
        interval_s: float = 5.0,
        retry_s: float = 1.0,
        rejoin_after_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._consumer = consumer
        self._service = service
        self._group = group_id
        self._describe = describe_group
        self._close = close
        self._interval = interval_s
        self._retry = retry_s
        self._rejoin_after = rejoin_after_s
        self._clock = clock
        self._next = 0.0
        self._bad_since: float | None = None

    def close(self) -> None:
        self._close()

    def wait_for_topics(self, topics: Iterable[str], stop: threading.Event, state: WatchedState) -> None:
        """Subscribe only once every topic exists (the admin step creates them; clients never do)."""
        wanted = set(topics)
        said = 0.0
        while not stop.is_set():
            missing = sorted(wanted - set(self._consumer.topics()))
            if not missing:
                return
            state.membership = f"waiting for topics {missing} (created by the admin step)"
            if self._clock() - said > 30:
                said = self._clock()
                log.warning(
                    "topics do not exist yet; run the admin step (scripts/kafka.sh provision)",
                    extra=log_fields(group=self._group, missing=missing),
                )
            stop.wait(1.0)

    def check(self, topics: Iterable[str], state: WatchedState) -> None:
        now = self._clock()
        if now < self._next:
            return
        problem = self.problem(list(topics), state)
        if problem is None:
            self._next = now + self._interval
            if self._bad_since is not None:
                log.info("consumer is a member of its group again", extra=log_fields(group=self._group))
            self._bad_since = None
            return
        self._next = now + self._retry
        state.membership = problem
        if self._bad_since is None:
            self._bad_since = now
            log.info(
                "consumer not settled in its group yet", extra=log_fields(group=self._group, why=problem)
            )
        if now - self._bad_since >= self._rejoin_after:
            self._bad_since = None
            raise Rejoin(f"{problem} for {self._rejoin_after:.0f}s")

    def problem(self, topics: list[str], state: WatchedState) -> str | None:
        """None when the group does its job (this member included), else what is wrong; updates lag."""
        consumer = self._consumer
        member_id, member_state = _membership(consumer)
        if member_state not in (None, "STABLE"):
            return f"not a stable member of {self._group} (state {member_state})"
        assignment = consumer.assignment()
        partitions = {t: set(consumer.partitions_for_topic(t) or ()) for t in topics}
        self._measure_lag(assignment, state)
        mine = {t: {tp.partition for tp in assignment if tp.topic == t} for t in topics}
        if self._describe is None:
            empty = [t for t in topics if not mine[t]]
            if empty:
                return f"holds no partition of {', '.join(empty)}"
            state.membership = "ok"
            return None
        group = self._describe(self._group)
        members = group.get("members") or []
        if member_id is not None and member_id not in {m.get("member_id") for m in members}:
            return (
                f"the broker does not list this consumer in {self._group} (group {group.get('group_state')})"
            )
        held = _held(members)
        for topic in topics:
            orphans = sorted(partitions[topic] - held.get(topic, set()))
            if not partitions[topic]:
                return f"no partition metadata for {topic}"
            if orphans:
                return f"no member of {self._group} holds {topic} partitions {orphans}"
        if not any(mine.values()):
            state.membership = f"idle: the other {len(members) - 1} members hold every partition"
        else:
            state.membership = "ok"
        return None

    def _measure_lag(self, assignment: set[Any], state: WatchedState) -> None:
        if not assignment:
            state.lag = {}
            return
        ends = self._consumer.end_offsets(list(assignment))
        lag: dict[str, int] = {}
        for tp in assignment:
            behind = max(0, int(ends.get(tp, 0)) - int(self._consumer.position(tp)))
            lag[tp.topic] = lag.get(tp.topic, 0) + behind
        for topic, value in lag.items():
            CONSUMER_LAG.labels(self._service, self._group, topic).set(value)
        state.lag = lag


def _membership(consumer: Any) -> tuple[str | None, str | None]:
    """(member id, member state name) from kafka-python's coordinator; (None, None) if it has none."""
    coordinator = getattr(consumer, "_coordinator", None)
    snapshot = getattr(coordinator, "group_metadata", None)
    if snapshot is None:
        return None, None
    meta = snapshot()
    state = getattr(meta.state, "name", None) or str(meta.state).strip("<>")  # kafka-python: '<stable>'
    return meta.member_id, state.upper()


def _held(members: list[dict[str, Any]]) -> dict[str, set[int]]:
    held: dict[str, set[int]] = {}
    for member in members:
        assignment = member.get("member_assignment") or {}
        if not isinstance(assignment, dict):
            continue
        for entry in assignment.get("assigned_partitions") or []:
            held.setdefault(entry["topic"], set()).update(entry["partitions"])
    return held
