"""The e2e harness: the real system (Kafka KRaft broker, PostgreSQL, Keycloak, the five services).

Kafka and PostgreSQL come from testcontainers where they can start (a Docker engine answers and the images
are present locally; ``e2e_containers``: the images compose runs, the broker on mutual TLS and ACLs as the
local one), else from local processes: ``scripts/kafka.sh`` and the PostgreSQL that
``scripts/postgres.sh`` started (``e2e_harness``; ``CERTIFIA_E2E_CONTAINERS=1`` requires containers, ``=0``
local processes). The branch taken, and why, is printed once after collection. The services always run as
local processes of this checkout, exactly as ``make run`` starts them (``scripts/stack.py``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from certifia_shared.testing import fresh_pg_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # e2e_events, e2e_harness
import e2e_containers  # noqa: E402
import e2e_harness  # noqa: E402

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


_BRANCH = pytest.StashKey[e2e_harness.Branch]()


def branch(config: pytest.Config) -> e2e_harness.Branch:
    """The branch of this session, chosen once (and printed to the terminal) the first time it is asked."""
    if _BRANCH not in config.stash:
        chosen = e2e_harness.probe_and_choose()
        config.stash[_BRANCH] = chosen
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(chosen.describe())
    return config.stash[_BRANCH]


def pytest_collection_finish(session: pytest.Session) -> None:
    # At session start, and only when a selected test starts the stack (nothing to probe for -k that selects none).
    if any("stack" in getattr(item, "fixturenames", ()) for item in session.items):
        chosen = branch(session.config)
        if chosen.error:
            raise pytest.UsageError(chosen.error)


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Any]:
    base = ROOT / "var" / "e2e"
    shutil.rmtree(base, ignore_errors=True)
    with contextlib.ExitStack() as resources:
        bootstrap: str | None = None
        chosen = branch(request.config)
        if chosen.error:
            pytest.fail(chosen.error, pytrace=False)
        pki_dir: Path | None = None
        if chosen.containers:
            pki_dir = base / "pki"
            bootstrap, urls = resources.enter_context(e2e_containers.containers(pki_dir, DATABASES))
        else:
            urls = {service: fresh_pg_url(db) for service, db in DATABASES.items()}
        s = stack_module.Stack(
            state_dir=base / "stack",
            kafka_dir=base / "kafka",
            keycloak_dir=base / "keycloak",  # its own Keycloak (a fresh realm import), not make run's
            port_offset=100,  # leaves 8001-8005 to a `make run` stack on the same machine
            database_urls=urls,
            external_bootstrap=bootstrap,
            external_pki=pki_dir,
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
