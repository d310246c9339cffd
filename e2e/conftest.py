"""The e2e harness: the real system (Kafka KRaft broker, PostgreSQL, Keycloak, the five services).

Where a Docker engine answers, Kafka and PostgreSQL come from testcontainers; where none does (the
development machines), from local processes: ``scripts/kafka.sh`` and the PostgreSQL that
``scripts/postgres.sh`` started. ``CERTIFIA_E2E_CONTAINERS=0`` forbids containers. The services always
run as local processes of this checkout, exactly as ``make run`` starts them (``scripts/stack.py``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from certifia_shared.testing import fresh_pg_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # e2e_events
DATABASES = {
    "enrolment": "enrolment",
    "assessment": "assessment",
    "grading-compute": "grading",
    "thesis": "thesis",
    "certification": "certification",
}


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


stack_module = _load("stack")
demo_module = _load("demo")


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return (
            subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def containers() -> Iterator[tuple[str, dict[str, str]]]:
    """Kafka and PostgreSQL from testcontainers: (bootstrap, {service: database url})."""
    import psycopg
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with (
        KafkaContainer("confluentinc/cp-kafka:7.9.0").with_kraft() as kafka,
        PostgresContainer("postgres:17", username="certifia", password="certifia", dbname="postgres") as pg,
    ):
        host, port = pg.get_container_host_ip(), pg.get_exposed_port(5432)
        with psycopg.connect(
            f"postgresql://certifia:certifia@{host}:{port}/postgres", autocommit=True
        ) as conn:
            for db in DATABASES.values():
                conn.execute(f"CREATE DATABASE certifia_{db}")
        urls = {
            s: f"postgresql+psycopg://certifia:certifia@{host}:{port}/certifia_{db}"
            for s, db in DATABASES.items()
        }
        yield kafka.get_bootstrap_server(), urls


def use_containers() -> bool:
    if os.environ.get("CERTIFIA_E2E_CONTAINERS") == "0" or not docker_answers():
        return False
    return importlib.util.find_spec("testcontainers") is not None


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    base = ROOT / "var" / "e2e"
    shutil.rmtree(base, ignore_errors=True)
    with contextlib.ExitStack() as resources:
        bootstrap: str | None = None
        if use_containers():
            bootstrap, urls = resources.enter_context(containers())
        else:
            urls = {service: fresh_pg_url(db) for service, db in DATABASES.items()}
        s = stack_module.Stack(
            state_dir=base / "stack",
            kafka_dir=base / "kafka",
            keycloak_dir=base / "keycloak",  # its own Keycloak (a fresh realm import), not make run's
            port_offset=100,  # leaves 8001-8005 to a `make run` stack on the same machine
            database_urls=urls,
            external_bootstrap=bootstrap,
        )
        order = tuple(
            random.sample([spec.name for spec in stack_module.SERVICES], k=len(stack_module.SERVICES))
        )
        print(f"\ne2e: starting the services in the order {', '.join(order)}")
        try:
            s.up(order)  # a random order on a fresh broker: no consumer may depend on who came first
            yield s
        finally:
            s.down()


@pytest.fixture(scope="session")
def demo(stack: Any) -> Any:
    return demo_module.Demo(stack)
