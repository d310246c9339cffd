"""The e2e harness: the real system as processes (Kafka KRaft broker, PostgreSQL, the five services).

Where a Docker engine answers and testcontainers is installed, Kafka and PostgreSQL come from
containers instead (``CERTIFIA_E2E_CONTAINERS=1`` forces it, ``=0`` forbids it); the services always
run as local processes of this checkout, exactly as ``make run`` starts them (``scripts/stack.py``).
"""

from __future__ import annotations

import importlib.util
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


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    base = ROOT / "var" / "e2e"
    shutil.rmtree(base, ignore_errors=True)
    urls = {service: fresh_pg_url(db) for service, db in DATABASES.items()}
    s = stack_module.Stack(
        state_dir=base / "stack",
        kafka_dir=base / "kafka",
        port_offset=100,  # leaves 8001-8005 to a `make run` stack on the same machine
        database_urls=urls,
    )
    try:
        s.up()
        yield s
    finally:
        s.down()


@pytest.fixture(scope="session")
def demo(stack: Any) -> Any:
    return demo_module.Demo(stack)
