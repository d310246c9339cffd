"""The broker's admin step, run as the admin principal before any service starts: creates every topic and
dead-letter topic of contracts/bus.yaml and makes each service's ACLs exactly what bus.yaml allows.

    python -m certifia_shared.bus_admin provision [--replication-factor N]
    python -m certifia_shared.bus_admin acls          # what each principal may do, as the broker says

Connection: KAFKA_BOOTSTRAP_SERVERS and KAFKA_SECURITY_PROTOCOL / KAFKA_SSL_CAFILE / KAFKA_SSL_CERTFILE /
KAFKA_SSL_KEYFILE (the admin's certificate; the broker lists ``User:admin`` in ``super.users``).

Per service S (principal ``User:S``), and nothing else: WRITE and DESCRIBE on its own topic; READ and
DESCRIBE on each topic it consumes and on its group; WRITE, READ and DESCRIBE on its group's dead-letter
topics (written by its consumer, read back to list and replay them). An ACL of a service principal that
bus.yaml no longer grants is deleted, so the broker never keeps a stale permission.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.errors import KafkaError, TopicAlreadyExistsError

from certifia_shared.bus import Bus, bus
from certifia_shared.config import KafkaSecurity
from certifia_shared.kafka import PARTITIONS, make_admin

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW ACL: ``principal`` may do ``operation`` on the literal resource ``name``."""

    principal: str
    resource: str  # "topic" | "group"
    name: str
    operation: str  # an ACLOperation name

    def acl(self) -> ACL:
        kind = ResourceType.TOPIC if self.resource == "topic" else ResourceType.GROUP
        return ACL(
            principal=self.principal,
            host="*",
            operation=ACLOperation[self.operation],
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(kind, self.name, ACLResourcePatternType.LITERAL),
        )


def principal(service: str) -> str:
    return f"User:{service}"


def grants(topology: Bus) -> set[Grant]:
    """Every ACL the broker must hold for the services, from bus.yaml (pure: unit-tested)."""
    out: set[Grant] = set()
    for service, owner in topology.owners.items():
        who = principal(service)
        out |= {Grant(who, "topic", owner.topic, op) for op in ("WRITE", "DESCRIBE")}
        sub = topology.subscription(service)
        if sub is None:
            continue
        out |= {Grant(who, "group", sub.group, op) for op in ("READ", "DESCRIBE")}
        for topic in sub.topics:
            out |= {Grant(who, "topic", topic, op) for op in ("READ", "DESCRIBE")}
        for dlq in sub.dead_letter_topics():
            out |= {Grant(who, "topic", dlq, op) for op in ("WRITE", "READ", "DESCRIBE")}
    return out


def _grant_of(acl: ACL) -> Grant | None:
    pattern = acl.resource_pattern
    if acl.permission_type != ACLPermissionType.ALLOW or acl.host != "*":
        return None
    if pattern.pattern_type != ACLResourcePatternType.LITERAL:
        return None
    kinds = {ResourceType.TOPIC: "topic", ResourceType.GROUP: "group"}
    if pattern.resource_type not in kinds:
        return None
    return Grant(acl.principal, kinds[pattern.resource_type], pattern.resource_name, acl.operation.name)


def current_acls(admin: KafkaAdminClient) -> list[ACL]:
    everything = ACLFilter(
        principal=None,
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    acls, error = admin.describe_acls(everything)
    if int(getattr(error, "errno", 0) or 0) != 0:
        raise RuntimeError(f"describing ACLs failed: {error}")
    return list(acls)


def connect(bootstrap: str, security: KafkaSecurity, *, deadline_s: float = 60.0) -> KafkaAdminClient:
    end = time.monotonic() + deadline_s
    while True:
        try:
            return make_admin(bootstrap, "certifia-admin", security, request_timeout_ms=10000)
        except KafkaError as exc:
            if time.monotonic() > end:
                raise RuntimeError(
                    f"Kafka at {bootstrap} does not answer the admin ({exc}); is it started "
                    "(scripts/kafka.sh start) and is this the admin's certificate?"
                ) from exc
            time.sleep(1)


def ensure_topics(admin: KafkaAdminClient, names: Iterable[str], *, replication_factor: int = 1) -> list[str]:
    """Create the missing topics (PARTITIONS each) and wait until each has a leader; returns those created."""
    existing = set(admin.list_topics())
    missing = sorted(set(names) - existing)
    if missing:
        # another admin step may create them at the same moment: the topics exist either way
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(
                {
                    t: {"num_partitions": PARTITIONS, "replication_factor": replication_factor}
                    for t in missing
                },
                wait_for_metadata=True,
            )
    return missing


def sync_acls(admin: KafkaAdminClient, topology: Bus) -> tuple[list[Grant], list[Grant]]:
    """Make the service principals' ACLs exactly ``grants(topology)``; returns (created, deleted)."""
    wanted = grants(topology)
    ours = {principal(s) for s in topology.owners}
    held: dict[Grant, ACL] = {}
    stale: list[ACL] = []
    for acl in current_acls(admin):
        if acl.principal not in ours:
            continue
        grant = _grant_of(acl)
        if grant is not None and grant in wanted:
            held[grant] = acl
        else:
            stale.append(acl)
    created = sorted(wanted - set(held))
    if created:
        result = admin.create_acls([g.acl() for g in created])
        if result.get("failed"):
            raise RuntimeError(f"creating ACLs failed: {result['failed']}")
    deleted = [g for acl in stale if (g := _grant_of(acl)) is not None]
    if stale:
        admin.delete_acls([_exact_filter(acl) for acl in stale])
    return created, sorted(deleted)


def _exact_filter(acl: ACL) -> ACLFilter:
    return ACLFilter(
        principal=acl.principal,
        host=acl.host,
        operation=acl.operation,
        permission_type=acl.permission_type,
        resource_pattern=ResourcePatternFilter(
            acl.resource_pattern.resource_type,
            acl.resource_pattern.resource_name,
            acl.resource_pattern.pattern_type,
        ),
    )


def provision(
    bootstrap: str, security: KafkaSecurity, *, replication_factor: int = 1, topology: Bus | None = None
) -> dict[str, int]:
    """Topics first, then ACLs; idempotent. Returns counts for the log line."""
    topology = topology or bus()
    admin = connect(bootstrap, security)
    try:
        created_topics = ensure_topics(
            admin, [*topology.topics(), *topology.dead_letter_topics()], replication_factor=replication_factor
        )
        created, deleted = sync_acls(admin, topology) if security.protocol == "SSL" else ([], [])
    finally:
        admin.close()
    return {"topics_created": len(created_topics), "acls_created": len(created), "acls_deleted": len(deleted)}


def _settings_security() -> tuple[str, KafkaSecurity]:
    import os

    protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL", "SSL")
    if protocol not in {"SSL", "PLAINTEXT"}:
        raise SystemExit(f"KAFKA_SECURITY_PROTOCOL must be SSL or PLAINTEXT, not {protocol!r}")
    security = KafkaSecurity(
        protocol="SSL" if protocol == "SSL" else "PLAINTEXT",
        cafile=os.environ.get("KAFKA_SSL_CAFILE", ""),
        certfile=os.environ.get("KAFKA_SSL_CERTFILE", ""),
        keyfile=os.environ.get("KAFKA_SSL_KEYFILE", ""),
    )
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"), security


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m certifia_shared.bus_admin")
    parser.add_argument("command", choices=["provision", "acls"])
    parser.add_argument("--replication-factor", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    bootstrap, security = _settings_security()
    if args.command == "provision":
        t0 = time.monotonic()
        counts = provision(bootstrap, security, replication_factor=args.replication_factor)
        print(
            f"provisioned {bootstrap}: {counts['topics_created']} topics created, "
            f"{counts['acls_created']} ACLs created, {counts['acls_deleted']} stale ACLs deleted "
            f"in {time.monotonic() - t0:.1f}s"
        )
        return 0
    admin = connect(bootstrap, security)
    try:
        for grant in sorted(g for a in current_acls(admin) if (g := _grant_of(a)) is not None):
            print(f"{grant.principal:24} {grant.operation:9} {grant.resource:6} {grant.name}")
    finally:
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
