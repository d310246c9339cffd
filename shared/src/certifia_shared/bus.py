"""The event bus's ownership and subscriptions, read from contracts/bus.yaml.

Every topic has one owner (the only principal that may write it, and the only ``ce_source`` its events
may carry); every consumer group declares the topics it reads and, per event type found there, whether
it handles it or ignores it on purpose. Anything else is dead-lettered as unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from certifia_shared.config import repo_root


class BusError(ValueError):
    """contracts/bus.yaml names something it does not declare."""


@dataclass(frozen=True)
class Owner:
    service: str  # the Kafka principal (User:<service>) and the certificate's CN
    source: str  # the CloudEvents source its events carry
    topic: str


@dataclass(frozen=True)
class Subscription:
    service: str
    group: str
    topics: tuple[str, ...]
    handles: frozenset[str]
    ignores: frozenset[str]

    def dead_letter_topics(self) -> tuple[str, ...]:
        return tuple(dead_letter_topic(t, self.group) for t in self.topics)


def dead_letter_topic(topic: str, group: str) -> str:
    """Where ``group`` puts the records of ``topic`` it cannot apply: one dead letter per consumer."""
    return f"{topic}.{group}.dlq"


@dataclass(frozen=True)
class Bus:
    owners: dict[str, Owner]  # by service
    subscriptions: dict[str, Subscription]  # by service
    # where each event type may travel; None: as contracts/events/ says (x-certifia-topic)
    type_topics: dict[str, str] | None = None

    def topic_of(self, event_type: str) -> str | None:
        """The topic an event type belongs on, None for a type no contract declares."""
        if self.type_topics is not None:
            return self.type_topics.get(event_type)
        from certifia_shared.contracts import catalogue

        spec = catalogue().get(event_type)
        return spec.topic if spec else None

    def owner_of(self, topic: str) -> Owner:
        for owner in self.owners.values():
            if owner.topic == topic:
                return owner
        raise BusError(f"topic {topic!r} has no owner in contracts/bus.yaml")

    def owner(self, service: str) -> Owner:
        try:
            return self.owners[service]
        except KeyError:
            raise BusError(f"service {service!r} is not declared in contracts/bus.yaml") from None

    def subscription(self, service: str) -> Subscription | None:
        return self.subscriptions.get(service)

    def topics(self) -> list[str]:
        return sorted(o.topic for o in self.owners.values())

    def dead_letter_topics(self) -> list[str]:
        return sorted(t for s in self.subscriptions.values() for t in s.dead_letter_topics())

    def readers_of(self, topic: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if topic in s.topics]


def bus_file() -> Path:
    return repo_root() / "contracts" / "bus.yaml"


def parse(raw: dict[str, Any]) -> Bus:
    owners = {
        name: Owner(service=name, source=str(spec["source"]), topic=str(spec["topic"]))
        for name, spec in (raw.get("services") or {}).items()
    }
    subscriptions = {}
    for name, spec in (raw.get("consumers") or {}).items():
        if name not in owners:
            raise BusError(f"consumer {name!r} is not a declared service")
        subscriptions[name] = Subscription(
            service=name,
            group=str(spec["group"]),
            topics=tuple(spec["topics"]),
            handles=frozenset(spec.get("handles") or ()),
            ignores=frozenset(spec.get("ignores") or ()),
        )
    bus = Bus(owners, subscriptions)
    known = set(bus.topics())
    for sub in subscriptions.values():
        unknown = [t for t in sub.topics if t not in known]
        if unknown:
            raise BusError(f"consumer {sub.service!r} reads undeclared topics {unknown}")
        both = sub.handles & sub.ignores
        if both:
            raise BusError(f"consumer {sub.service!r} both handles and ignores {sorted(both)}")
    return bus


@cache
def bus() -> Bus:
    return parse(yaml.safe_load(bus_file().read_text(encoding="utf-8")))
