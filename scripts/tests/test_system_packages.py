"""scripts/system-packages.sh, the one installer of the system packages (`.ci/run`, `make run`, `make test`),
on a fake machine: PATH holds only the tools a test puts there, and stand-ins for dpkg-query (which packages
are installed), apt-get (records what it was asked, installs nothing) and id (root or not). Nothing is
installed on this machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "system-packages.sh"
PREREQUISITES = ROOT / "scripts" / "prerequisites.sh"
BASH = shutil.which("bash") or "/bin/bash"
# What the scripts run from PATH besides the stand-ins (the real ones, linked in).
REAL_TOOLS = ("bash", "date", "dirname", "sed")


def all_packages() -> list[str]:
    match = re.search(r"^ALL=\(([^)]*)\)", SCRIPT.read_text(), re.MULTILINE)
    assert match, "ALL=(...) not found in scripts/system-packages.sh"
    return match.group(1).split()


@dataclass
class Machine:
    bin: Path
    apt_log: Path
    env: dict[str, str]

    def run(self, *args: str, script: Path = SCRIPT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BASH, str(script), *args], env=self.env, capture_output=True, text=True, timeout=60, check=False
        )

    def apt_calls(self) -> list[str]:
        return self.apt_log.read_text().splitlines() if self.apt_log.exists() else []


MachineFactory = Callable[..., Machine]


def _executable(path: Path, body: str) -> None:
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def machine_factory(tmp_path: Path) -> MachineFactory:
    def make(*, installed: Iterable[str], tools: Iterable[str] = (), uid: int = 0) -> Machine:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        for tool in REAL_TOOLS:
            real = shutil.which(tool)
            assert real, tool
            (bin_dir / tool).symlink_to(real)
        db = tmp_path / "dpkg-installed"
        db.write_text("".join(f"{p}\n" for p in installed))
        _executable(
            bin_dir / "dpkg-query",
            'pkg="${@: -1}"\n'
            'while read -r p; do [[ "$p" == "$pkg" ]] && { printf "install ok installed"; exit 0; }; done'
            ' < "$FAKE_DPKG_INSTALLED"\n'
            'echo "dpkg-query: no packages found matching $pkg" >&2; exit 1',
        )
        _executable(bin_dir / "apt-get", 'printf "%s\\n" "apt-get $*" >> "$FAKE_APT_LOG"')
        _executable(bin_dir / "id", '[[ "${1:-}" == -u ]] && echo "$FAKE_UID"')
        for tool in tools:
            _executable(bin_dir / tool, "exit 0")
        apt_log = tmp_path / "apt.log"
        env = {
            "PATH": str(bin_dir),
            "HOME": str(tmp_path),
            "FAKE_DPKG_INSTALLED": str(db),
            "FAKE_APT_LOG": str(apt_log),
            "FAKE_UID": str(uid),
            "PY": "python3.11",
        }
        return Machine(bin_dir, apt_log, env)

    return make


def test_dry_run_names_the_package_of_a_tool_missing_from_path(machine_factory: MachineFactory) -> None:
    everything_but_bwrap = [p for p in all_packages() if p != "bubblewrap"]
    machine = machine_factory(installed=everything_but_bwrap)

    done = machine.run("--dry-run")

    assert done.returncode == 0, done.stderr
    assert "would install: bubblewrap\n" in done.stdout
    command = next(line for line in done.stdout.splitlines() if line.startswith("with: "))
    assert "apt-get update" in command
    assert re.search(r"apt-get install .*--no-install-recommends bubblewrap$", command), command
    assert "sudo" not in command  # root here
    assert machine.apt_calls() == []  # a dry run installs nothing


def test_dry_run_with_everything_present_says_all_present(machine_factory: MachineFactory) -> None:
    machine = machine_factory(installed=all_packages())

    done = machine.run("--dry-run")

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"all present: {' '.join(all_packages())}\n"
    assert machine.apt_calls() == []


def test_a_tool_on_path_counts_as_installed_whatever_packaged_it(machine_factory: MachineFactory) -> None:
    # Node.js from NodeSource: node and npm on PATH, Debian's nodejs/npm not installed (asking apt for npm
    # there fails); Java from Temurin; Python 3.11 from pyenv with its venv module.
    providers = {"nodejs", "npm", "openjdk-17-jre-headless", "python3", "python3-venv"}
    machine = machine_factory(
        installed=[p for p in all_packages() if p not in providers],
        tools=["node", "npm", "java", "python3.11"],
    )

    done = machine.run("--dry-run")

    assert done.stdout.startswith("all present: "), done.stdout + done.stderr


def test_missing_python_installs_python3_and_its_venv(machine_factory: MachineFactory) -> None:
    machine = machine_factory(installed=[])  # not even $PY on PATH

    done = machine.run("--dry-run", "python")

    assert "would install: python3 python3-venv\n" in done.stdout, done.stdout + done.stderr


def test_make_run_does_not_install_what_only_the_tests_need(machine_factory: MachineFactory) -> None:
    machine = machine_factory(installed=[])

    done = machine.run("--dry-run", "run")

    would = next(line for line in done.stdout.splitlines() if line.startswith("would install: ")).split()[2:]
    assert {"bubblewrap", "maven", "openjdk-17-jre-headless", "python3", "fonts-dejavu-core"} <= set(would)
    assert not {"postgresql", "chromium", "make"} & set(would)


def test_as_root_it_installs_what_is_missing_and_times_each_step(machine_factory: MachineFactory) -> None:
    machine = machine_factory(installed=[p for p in all_packages() if p not in {"maven", "chromium"}])

    done = machine.run("all")

    assert done.returncode == 0, done.stderr
    assert "installing: maven chromium\n" in done.stdout
    assert re.search(r"^apt-get update: \d+s$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^apt-get install \(2 packages\): \d+s$", done.stdout, re.MULTILINE), done.stdout
    update, install = machine.apt_calls()
    assert update.startswith("apt-get update")
    assert install.startswith("apt-get install -y")
    assert install.endswith("--no-install-recommends maven chromium")


def test_without_root_or_sudo_it_prints_the_exact_command_and_exits_1(
    machine_factory: MachineFactory,
) -> None:
    machine = machine_factory(installed=[p for p in all_packages() if p != "bubblewrap"], uid=1000)

    done = machine.run("all")

    assert done.returncode == 1
    assert (
        "sudo apt-get update && sudo apt-get install -y --no-install-recommends bubblewrap\n" in done.stderr
    )
    assert machine.apt_calls() == []


def test_without_root_a_missing_optional_package_is_a_note_not_a_failure(
    machine_factory: MachineFactory,
) -> None:
    machine = machine_factory(installed=[p for p in all_packages() if p != "chromium"], uid=1000)

    done = machine.run("all")

    assert done.returncode == 0
    assert "sudo apt-get install -y --no-install-recommends chromium" in done.stderr
    assert "optional" in done.stderr


def test_prerequisites_stop_with_the_install_command_before_checking(machine_factory: MachineFactory) -> None:
    # What `make run` / `make test` print for a user who is not root: the one command, then exit 1.
    machine = machine_factory(installed=[p for p in all_packages() if p not in {"maven", "npm"}], uid=1000)

    done = machine.run("test", script=PREREQUISITES)

    assert done.returncode == 1
    assert "sudo apt-get install -y --no-install-recommends maven npm" in done.stderr
    assert "missing prerequisite:" not in done.stderr  # the checks did not run on a half-installed machine
    assert machine.apt_calls() == []


def test_make_run_and_make_test_start_with_the_system_packages() -> None:
    env = {**os.environ, "MAKEFLAGS": ""}
    for target, first in (("run", "scripts/prerequisites.sh"), ("test", "scripts/prerequisites.sh test")):
        done = subprocess.run(
            ["make", "-n", "-C", str(ROOT), target], env=env, capture_output=True, text=True, check=False
        )
        commands = [line for line in done.stdout.splitlines() if not line.startswith("make")]
        assert commands and commands[0] == first, (target, done.stdout[:2000], done.stderr)


def test_dry_run_without_root_or_sudo_shows_the_command_to_run_by_hand(
    machine_factory: MachineFactory,
) -> None:
    machine = machine_factory(installed=[p for p in all_packages() if p != "maven"], uid=1000)

    done = machine.run("--dry-run")

    assert done.returncode == 0
    assert "would install: maven\n" in done.stdout
    assert "sudo apt-get update && sudo apt-get install -y --no-install-recommends maven" in done.stdout
    assert machine.apt_calls() == []
