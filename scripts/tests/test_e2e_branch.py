"""The e2e harness picks testcontainers only when it can start them (e2e/e2e_harness.py): a Docker engine
that answers is not enough, the images must be present locally (there may be no registry to pull from).
No Docker is needed here: the decision is pure, and the probe is given stand-ins for docker."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--import-mode=importlib"]


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("e2e_harness", ROOT / "e2e" / "e2e_harness.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("e2e_harness", module)
    spec.loader.exec_module(module)
    return module


h = _module()
RYUK = "testcontainers/ryuk:0.8.1"
ALL_PRESENT = {h.KAFKA_IMAGE: True, h.POSTGRES_IMAGE: True, RYUK: True}


def choose(
    forced: str | None = None,
    *,
    engine: bool = True,
    images: dict[str, bool] = ALL_PRESENT,
    installed: bool = True,
) -> Any:
    return h.choose_branch(
        forced=forced, engine_answers=engine, images=images, testcontainers_installed=installed
    )


def test_engine_and_images_present_take_the_containers_branch() -> None:
    branch = choose()
    assert branch.containers and branch.error is None
    assert h.KAFKA_IMAGE in branch.reason and h.POSTGRES_IMAGE in branch.reason
    assert branch.describe().startswith("e2e harness: Kafka and PostgreSQL from testcontainers (")


def test_an_engine_without_the_images_takes_the_local_processes() -> None:
    # dockerd up, nothing pulled or built: the case that made `make test` fail.
    branch = choose(images={h.KAFKA_IMAGE: False, h.POSTGRES_IMAGE: True, RYUK: False})
    assert not branch.containers and branch.error is None
    assert h.KAFKA_IMAGE in branch.reason and RYUK in branch.reason
    assert h.POSTGRES_IMAGE not in branch.reason
    assert "local processes" in branch.describe()


def test_no_engine_takes_the_local_processes() -> None:
    branch = choose(engine=False, images={})
    assert not branch.containers and branch.error is None
    assert "`docker info` finds no Docker engine" in branch.reason


def test_without_testcontainers_installed_takes_the_local_processes() -> None:
    branch = choose(installed=False)
    assert not branch.containers and "testcontainers is not installed" in branch.reason


@pytest.mark.parametrize("value", ["0", "false"])
def test_0_forces_local_processes_even_when_containers_could_start(value: str) -> None:
    branch = choose(value)
    assert not branch.containers and branch.error is None
    assert branch.reason == f"CERTIFIA_E2E_CONTAINERS={value}"


def test_1_with_everything_there_takes_containers() -> None:
    branch = choose("1")
    assert branch.containers and branch.error is None
    assert "CERTIFIA_E2E_CONTAINERS=1" in branch.reason


def test_1_with_a_missing_image_fails_naming_it_and_how_to_build_it() -> None:
    branch = choose("1", images={h.KAFKA_IMAGE: True, h.POSTGRES_IMAGE: False, RYUK: True})
    assert branch.containers
    assert branch.error is not None
    assert h.POSTGRES_IMAGE in branch.error
    assert f"docker build -t {h.POSTGRES_IMAGE}" in branch.error
    assert "TESTCONTAINERS_RYUK_DISABLED" not in branch.error  # the reaper is there


def test_1_with_the_reaper_missing_says_how_to_do_without_it() -> None:
    branch = choose("1", images={h.KAFKA_IMAGE: True, h.POSTGRES_IMAGE: True, RYUK: False})
    assert branch.error is not None and RYUK in branch.error
    assert "TESTCONTAINERS_RYUK_DISABLED=true" in branch.error


def test_1_without_an_engine_fails_saying_to_start_dockerd() -> None:
    branch = choose("1", engine=False, images={})
    assert branch.error is not None and "start dockerd" in branch.error


def test_an_unknown_value_fails_saying_which_values_work() -> None:
    branch = choose("maybe")
    assert branch.error is not None
    assert "must be 1 (containers) or 0 (local processes), not 'maybe'" in branch.error


def test_the_reaper_is_needed_unless_disabled() -> None:
    assert h.needed_images(None) == [h.KAFKA_IMAGE, h.POSTGRES_IMAGE]
    assert h.needed_images(RYUK) == [h.KAFKA_IMAGE, h.POSTGRES_IMAGE, RYUK]


def test_the_probe_inspects_each_image_only_when_the_engine_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    inspected: list[str] = []

    def present(name: str) -> bool:
        inspected.append(name)
        return name != h.KAFKA_IMAGE

    monkeypatch.setattr(h, "image_present", present)
    monkeypatch.setattr(h, "ryuk_image", lambda: RYUK)
    monkeypatch.setattr(h, "docker_answers", lambda: True)

    branch = h.probe_and_choose({})

    assert inspected == [h.KAFKA_IMAGE, h.POSTGRES_IMAGE, RYUK]
    assert not branch.containers and h.KAFKA_IMAGE in branch.reason

    inspected.clear()
    monkeypatch.setattr(h, "docker_answers", lambda: False)
    assert not h.probe_and_choose({}).containers
    assert inspected == []


def test_0_does_not_even_ask_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_docker() -> bool:
        raise AssertionError("docker was asked")

    monkeypatch.setattr(h, "docker_answers", no_docker)
    assert not h.probe_and_choose({"CERTIFIA_E2E_CONTAINERS": "0"}).containers


def _collect_e2e(env_value: str) -> subprocess.CompletedProcess[str]:
    # --collect-only: the session's branch is chosen and printed, no fixture runs, nothing starts. PATH
    # without docker: no engine answers, whatever this machine has.
    env = {**os.environ, "CERTIFIA_E2E_CONTAINERS": env_value, "PATH": str(ROOT / "var" / "no-such-dir")}
    return subprocess.run(
        [*PYTEST, "--collect-only", "-q", "-m", "e2e", "e2e"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_session_prints_the_branch_it_took_and_fails_clearly_when_it_cannot_start() -> None:
    local = _collect_e2e("0")
    assert local.returncode == 0, local.stdout[-2000:] + local.stderr[-2000:]
    assert local.stdout.count("e2e harness: Kafka and PostgreSQL from local processes") == 1
    assert "(CERTIFIA_E2E_CONTAINERS=0)" in local.stdout

    required = _collect_e2e("1")
    assert required.returncode != 0
    assert (
        "CERTIFIA_E2E_CONTAINERS=1 but `docker info` finds no Docker engine"
        in required.stdout + required.stderr
    )


def test_the_containers_branch_runs_the_images_compose_runs() -> None:
    """Measured before: the harness named confluentinc/cp-kafka:7.9.0 and postgres:17, images nothing here
    builds and compose does not run, so the branch could never start on this engine."""
    import yaml

    compose = yaml.safe_load((ROOT / "deploy" / "compose" / "docker-compose.yml").read_text())
    images = {s.get("image") for s in compose["services"].values()}
    assert {h.KAFKA_IMAGE, h.POSTGRES_IMAGE} <= images
    names = subprocess.run(
        [str(ROOT / "scripts" / "images.sh"), "names"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert {h.KAFKA_IMAGE, h.POSTGRES_IMAGE} <= set(names)  # scripts/images.sh builds their stand-ins


def test_the_containers_broker_is_secured_and_published_on_loopback_only() -> None:
    sys.path.insert(0, str(ROOT / "e2e"))
    try:
        import e2e_containers
    finally:
        sys.path.remove(str(ROOT / "e2e"))
    settings = e2e_containers.broker_settings(41234)
    assert settings["KAFKA_ADVERTISED_LISTENERS"] == "SSL://127.0.0.1:41234"
    assert settings["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == "SSL:SSL,CONTROLLER:SSL"
    assert settings["KAFKA_SSL_CLIENT_AUTH"] == "required"
    assert settings["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert "PLAINTEXT" not in " ".join(settings.values())
