"""Kafka and PostgreSQL in containers (testcontainers) for the e2e suite's containers branch.

The images are the ones compose runs (``e2e_harness.KAFKA_IMAGE``, ``POSTGRES_IMAGE``): pulled where a
registry answers, else the local stand-ins ``scripts/images.sh build`` tags with those names. The broker is
secured as ``scripts/kafka.sh`` secures the local one and compose the stack's: mutual TLS with a new CA and
one certificate per principal (``certifia_shared.pki``), StandardAuthorizer ACLs, topics and ACLs from
contracts/bus.yaml made by the admin principal. Both publish their ports on 127.0.0.1 only.

testcontainers' KafkaContainer is not used: it configures Confluent's image through that image's own
scripts, in plaintext. A generic container takes the upstream apache/kafka image's KAFKA_* settings instead.
Ryuk, testcontainers' reaper, is disabled (``TESTCONTAINERS_RYUK_DISABLED=true``, ``make test-e2e-containers``):
no image of it is built here; the containers are stopped and removed when the session ends, and a session
killed before that leaves them to ``docker rm -f`` (they are labelled ``org.testcontainers``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import e2e_harness

from certifia_shared import pki
from certifia_shared.bus_admin import provision
from certifia_shared.config import KafkaSecurity

KAFKA_UID = 1000  # the user apache/kafka (and its stand-in) runs as
CONTROLLER_PORT = 9093


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def broker_settings(port: int) -> dict[str, str]:
    """apache/kafka's KAFKA_* settings for one KRaft node on mutual TLS, advertised as 127.0.0.1:``port``
    (the container listens on the same port it is published on, so the address it advertises is also its
    own inside the container)."""
    return {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"SSL://:{port},CONTROLLER://:{CONTROLLER_PORT}",
        "KAFKA_ADVERTISED_LISTENERS": f"SSL://127.0.0.1:{port}",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "SSL",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "SSL:SSL,CONTROLLER:SSL",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": f"1@localhost:{CONTROLLER_PORT}",
        "KAFKA_SSL_KEYSTORE_TYPE": "PEM",
        "KAFKA_SSL_KEYSTORE_LOCATION": "/pki/broker.pem",
        "KAFKA_SSL_TRUSTSTORE_TYPE": "PEM",
        "KAFKA_SSL_TRUSTSTORE_LOCATION": "/pki/ca.crt",
        "KAFKA_SSL_CLIENT_AUTH": "required",
        "KAFKA_SSL_ENABLED_PROTOCOLS": "TLSv1.3",
        "KAFKA_SSL_PRINCIPAL_MAPPING_RULES": "RULE:^CN=([A-Za-z0-9._-]+),O=certifia$/$1/,DEFAULT",
        "KAFKA_AUTHORIZER_CLASS_NAME": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND": "false",
        "KAFKA_SUPER_USERS": "User:broker;User:admin",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
    }


def broker_pki(directory: Path) -> Path:
    """A new CA and the principals' identities in ``directory``; returns the folder the broker's container
    mounts: the CA certificate and the broker's own key and chain, readable by the container's user."""
    pki.create(directory, hosts=("127.0.0.1", "localhost"))
    mounted = directory / "broker"
    mounted.mkdir(mode=0o755)
    for name in ("ca.crt", "broker.pem"):
        (mounted / name).write_bytes((directory / name).read_bytes())
    if os.geteuid() == 0:
        os.chown(mounted / "broker.pem", KAFKA_UID, KAFKA_UID)
        (mounted / "broker.pem").chmod(0o600)
    else:  # an unprivileged run cannot give the key away: this session's throwaway CA, readable while it runs
        (mounted / "broker.pem").chmod(0o644)
    (mounted / "ca.crt").chmod(0o644)
    mounted.chmod(0o755)  # the engine mounts it; the other principals' keys stay in the 0700 folder above
    return mounted


def admin_security(directory: Path) -> KafkaSecurity:
    admin = pki.identity(directory, pki.ADMIN)
    return KafkaSecurity(
        protocol="SSL", cafile=str(admin.cafile), certfile=str(admin.certfile), keyfile=str(admin.keyfile)
    )


def _logs(container: Any) -> str:
    return str(container.get_wrapped_container().logs(tail=40).decode(errors="replace"))


@contextlib.contextmanager
def kafka(pki_dir: Path, *, timeout_s: float = 120.0) -> Iterator[str]:
    """The secured broker, provisioned; yields its bootstrap address (127.0.0.1:port)."""
    from testcontainers.core.container import DockerContainer

    mounted = broker_pki(pki_dir)
    port = free_port()
    container = DockerContainer(e2e_harness.KAFKA_IMAGE).with_envs(**broker_settings(port))
    container.with_bind_ports(port, ("127.0.0.1", port))  # type: ignore[arg-type]  # docker-py takes (ip, port)
    container.with_volume_mapping(str(mounted), "/pki", "ro")
    with container:
        bootstrap = f"127.0.0.1:{port}"
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                provision(bootstrap, admin_security(pki_dir))
                break
            except (RuntimeError, OSError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the Kafka container ({e2e_harness.KAFKA_IMAGE}) did not answer the admin on {bootstrap} "
                        f"within {timeout_s:.0f} s: {exc}\n{_logs(container)}"
                    ) from exc
                time.sleep(2)
        yield bootstrap


@contextlib.contextmanager
def postgres(databases: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """PostgreSQL with one database per service; yields {service: SQLAlchemy URL}."""
    import psycopg
    from testcontainers.postgres import PostgresContainer

    port = free_port()
    container = PostgresContainer(
        e2e_harness.POSTGRES_IMAGE, username="certifia", password="certifia", dbname="postgres"
    )
    container.with_bind_ports(5432, ("127.0.0.1", port))  # type: ignore[arg-type]
    with container:
        with psycopg.connect(
            f"postgresql://certifia:certifia@127.0.0.1:{port}/postgres", autocommit=True
        ) as c:
            for db in databases.values():
                c.execute(f"CREATE DATABASE certifia_{db}")
        yield {
            service: f"postgresql+psycopg://certifia:certifia@127.0.0.1:{port}/certifia_{db}"
            for service, db in databases.items()
        }


@contextlib.contextmanager
def containers(pki_dir: Path, databases: Mapping[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """Both: (Kafka bootstrap, {service: database URL})."""
    with postgres(databases) as urls, kafka(pki_dir) as bootstrap:
        yield bootstrap, urls
