"""Which branch the e2e harness takes for Kafka and PostgreSQL: testcontainers, or local processes.

The containers branch is taken only when it can start: a Docker engine answers (``docker info``), every
image it runs is present locally (``docker image inspect``; nothing is pulled, there may be no registry to
pull from) and testcontainers is installed. Otherwise the local processes (``scripts/kafka.sh``, the
PostgreSQL of ``scripts/postgres.sh``). ``CERTIFIA_E2E_CONTAINERS=1`` requires containers (the run stops,
naming what is missing and how to get it), ``=0`` requires local processes.

``choose_branch`` is the decision, pure; ``probe_and_choose`` asks Docker and the environment first.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ENV = "CERTIFIA_E2E_CONTAINERS"
# the images deploy/compose runs (pulled, or built here as stand-ins by scripts/images.sh)
KAFKA_IMAGE = "apache/kafka:4.4.0"
POSTGRES_IMAGE = "postgres:15"
_YES = frozenset({"1", "true", "yes"})
_NO = frozenset({"0", "false", "no"})


@dataclass(frozen=True)
class Branch:
    containers: bool
    reason: str
    # Set when the branch CERTIFIA_E2E_CONTAINERS requires cannot start: the run stops with this message.
    error: str | None = None

    @property
    def name(self) -> str:
        return "testcontainers" if self.containers else "local processes"

    def describe(self) -> str:
        return f"e2e harness: Kafka and PostgreSQL from {self.name} ({self.reason})"


def needed_images(ryuk_image: str | None) -> list[str]:
    """The images the containers branch runs; ``ryuk_image`` is testcontainers' reaper, None when disabled."""
    return [KAFKA_IMAGE, POSTGRES_IMAGE, *([ryuk_image] if ryuk_image else [])]


def _how_to_get(missing: Sequence[str]) -> str:
    hint = (
        f"build a local stand-in tagged with that name (docker build -t {missing[0]} ...), "
        "or docker pull it where a registry answers"
    )
    if any("ryuk" in name for name in missing):
        hint += "; without testcontainers' reaper: TESTCONTAINERS_RYUK_DISABLED=true"
    return hint


def choose_branch(
    *,
    forced: str | None,
    engine_answers: bool,
    images: Mapping[str, bool],
    testcontainers_installed: bool,
) -> Branch:
    """``forced``: the value of CERTIFIA_E2E_CONTAINERS (None or "" when unset); ``images``: needed image ->
    present locally (only known, and only asked, when the engine answers)."""
    value = (forced or "").strip().lower()
    if value and value not in _YES | _NO:
        return Branch(
            False,
            f"{ENV}={forced!r}",
            error=f"{ENV} must be 1 (containers) or 0 (local processes), not {forced!r}; or unset it to choose "
            "by what can start",
        )
    if value in _NO:
        return Branch(False, f"{ENV}={forced}")
    required = value in _YES
    missing = [name for name, present in images.items() if not present]
    if not engine_answers:
        reason = "`docker info` finds no Docker engine"
        if required:
            return Branch(
                True,
                reason,
                error=f"{ENV}={forced} but {reason}: start dockerd, or unset {ENV} to run Kafka and "
                "PostgreSQL as local processes",
            )
        return Branch(False, reason)
    if missing:
        reason = f"a Docker engine answers but these images are not present locally: {', '.join(missing)}"
        if required:
            return Branch(True, reason, error=f"{ENV}={forced} but {reason}. {_how_to_get(missing)}")
        return Branch(False, f"{reason}; {ENV}=1 requires them")
    if not testcontainers_installed:
        reason = "a Docker engine answers and the images are present, but testcontainers is not installed"
        if required:
            return Branch(
                True, reason, error=f"{ENV}={forced} but {reason}: pip install -r requirements/dev.txt"
            )
        return Branch(False, reason)
    reason = f"a Docker engine answers and {', '.join(images) or 'the images'} are present locally"
    return Branch(True, f"{reason}; required by {ENV}={forced}" if required else reason)


def _docker(*args: str) -> bool:
    try:
        done = subprocess.run(["docker", *args], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def docker_answers() -> bool:
    return shutil.which("docker") is not None and _docker("info")


def image_present(name: str) -> bool:
    return _docker("image", "inspect", "--format", "{{.Id}}", name)


def ryuk_image() -> str | None:
    """testcontainers' reaper image, or None when it is disabled (TESTCONTAINERS_RYUK_DISABLED=true)."""
    from testcontainers.core.config import testcontainers_config

    return None if testcontainers_config.ryuk_disabled else str(testcontainers_config.ryuk_image)


def probe_and_choose(environ: Mapping[str, str] = os.environ) -> Branch:
    forced = environ.get(ENV)
    installed = importlib.util.find_spec("testcontainers") is not None
    if (forced or "").strip().lower() in _NO:
        return choose_branch(
            forced=forced, engine_answers=False, images={}, testcontainers_installed=installed
        )
    engine = docker_answers()
    images: dict[str, bool] = {}
    if engine:
        wanted = needed_images(ryuk_image() if installed else None)
        images = {name: image_present(name) for name in wanted}
    return choose_branch(
        forced=forced, engine_answers=engine, images=images, testcontainers_installed=installed
    )
