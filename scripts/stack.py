"""The whole system as local processes: Kafka (scripts/kafka.sh) and the five services.

Used by ``make run`` (``scripts/run.sh``) and by the e2e suite, so both run the same thing.

    .venv/bin/python scripts/stack.py up      # start Kafka and the services, wait until ready
    .venv/bin/python scripts/stack.py down    # stop them
    .venv/bin/python scripts/stack.py status
    .venv/bin/python scripts/stack.py dead-letters [service ...]          # list them
    .venv/bin/python scripts/stack.py replay <service> <topic:partition:offset> ...

State lives in ``var/stack/`` (pids, logs); Keycloak (the identity provider, development realm) in ``var/keycloak``. Databases: SQLite files in
``var/`` by default; ``CERTIFIA_DATABASE=postgres`` gives each service its own PostgreSQL database
(``scripts/postgres.sh url <service>``). The broker is secured (mutual TLS, ACLs): each service connects
with its own certificate from ``var/kafka/pki`` (created by ``scripts/kafka.sh start``, new at each
start); ``KAFKA_SECURITY=plaintext`` runs the insecure development broker instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # identity.py


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port: int
    database: str  # database name (SQLite file or PostgreSQL database suffix)


SERVICES = (
    ServiceSpec("enrolment", "certifia_enrolment", 8001, "enrolment"),
    ServiceSpec("assessment", "certifia_assessment", 8002, "assessment"),
    ServiceSpec("grading-compute", "certifia_grading", 8003, "grading"),
    ServiceSpec("thesis", "certifia_thesis", 8004, "thesis"),
    ServiceSpec("certification", "certifia_certification", 8005, "certification"),
)


@dataclass
class Stack:
    """Kafka and the services under ``state_dir``; ``database_urls`` maps a service to its database."""

    state_dir: Path = ROOT / "var" / "stack"
    kafka_dir: Path = ROOT / "var" / "kafka"
    keycloak_dir: Path = ROOT / "var" / "keycloak"
    kafka_port: int | None = None
    port_offset: int = 0
    database_urls: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    python: str = sys.executable
    external_bootstrap: str | None = None  # a broker started elsewhere (a container): not ours to start
    external_pki: Path | None = None  # that broker's CA and principals (certifia_shared.pki); None: plaintext
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # scale-out (make bench-cohort --instances 2): services run this many instances each, on the same
    # database and consumer group, instance k on port + 10*(k-1); services not named run one
    instances: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state_dir = self.state_dir.resolve()
        self.kafka_dir = self.kafka_dir.resolve()
        self.keycloak_dir = self.keycloak_dir.resolve()
        self._identity: Any = None

    # -- Kafka -----------------------------------------------------------------------------------------
    def _kafka(self, *args: str) -> str:
        env = {**os.environ, "KAFKA_DATA_DIR": str(self.kafka_dir)}
        if self.kafka_port:
            env["KAFKA_PORT"] = str(self.kafka_port)
        done = subprocess.run(
            [str(ROOT / "scripts" / "kafka.sh"), *args], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0 and args[0] not in {"stop", "status"}:
            raise RuntimeError(f"scripts/kafka.sh {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout.strip()

    def start_kafka(self) -> str:
        if not self.external_bootstrap:
            self._kafka("start")
        return self.bootstrap

    def stop_kafka(self) -> None:
        if not self.external_bootstrap:
            self._kafka("stop")

    @property
    def bootstrap(self) -> str:
        return self.external_bootstrap or self._kafka("bootstrap")

    # -- the identity provider (Keycloak, development realm) ----------------------------------------------
    def _keycloak(self, *args: str, check: bool = True) -> str:
        env = {**os.environ, "KEYCLOAK_DATA_DIR": str(self.keycloak_dir)}
        done = subprocess.run(
            [str(ROOT / "scripts" / "keycloak.sh"), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"scripts/keycloak.sh {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout.strip()

    def start_keycloak_in_background(self) -> subprocess.Popen[str]:
        """Keycloak takes 15-30 s to start: it starts while Kafka does."""
        env = {**os.environ, "KEYCLOAK_DATA_DIR": str(self.keycloak_dir)}
        return subprocess.Popen(
            [str(ROOT / "scripts" / "keycloak.sh"), "start"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def issuer(self) -> str:
        """The issuer every service trusts (OIDC_ISSUER): the realm of the stack's Keycloak."""
        return self._keycloak("issuer")

    @property
    def identity(self) -> Any:
        """Tokens of the development realm, for the demo and the e2e suite (scripts/identity.py)."""
        if self._identity is None:
            from identity import DevRealm

            self._identity = DevRealm(self.issuer, self.keycloak_dir / "admin-password")
        return self._identity

    # -- services --------------------------------------------------------------------------------------

    def url(self, service: str, instance: int = 1) -> str:
        return f"http://127.0.0.1:{self.port(service, instance)}"

    def port(self, service: str, instance: int = 1) -> int:
        return self.spec(service).port + self.port_offset + 10 * (instance - 1)

    def instances_of(self, service: str) -> range:
        """The instance numbers of a service: 1, or 1..n when it is scaled out."""
        return range(1, self.instances.get(service, 1) + 1)

    @staticmethod
    def _key(service: str, instance: int) -> str:
        """The name of an instance's process, pid file and log: the service's for the first."""
        return service if instance == 1 else f"{service}-{instance}"

    def webhook_receiver(self, path: str) -> Any:
        """An LMS webhook endpoint the services can reach: on 127.0.0.1, where they run."""
        from certifia_shared.testing import WebhookReceiver

        return WebhookReceiver(path)

    @staticmethod
    def spec(service: str) -> ServiceSpec:
        return next(s for s in SERVICES if s.name == service)

    def kafka_env(self, principal: str) -> dict[str, str]:
        """KAFKA_* settings that connect ``principal`` (a service, or ``admin``) to the stack's broker."""
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        mode_file = self.kafka_dir / "security"
        if self.external_bootstrap is not None:
            plaintext = self.external_pki is None
        else:
            plaintext = mode_file.exists() and mode_file.read_text().strip() == "plaintext"
        if plaintext:
            return {**env, "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT", "KAFKA_INSECURE_DEVELOPMENT": "true"}
        pki = self.external_pki or self.kafka_dir / "pki"
        return {
            **env,
            "KAFKA_SECURITY_PROTOCOL": "SSL",
            "KAFKA_SSL_CAFILE": str(pki / "ca.crt"),
            "KAFKA_SSL_CERTFILE": str(pki / f"{principal}.crt"),
            "KAFKA_SSL_KEYFILE": str(pki / f"{principal}.key"),
            "KAFKA_INSECURE_DEVELOPMENT": "false",
        }

    def kafka_security(self, principal: str = "admin") -> Any:
        """The same, as a certifia_shared KafkaSecurity (for the demo, tests and tools of this checkout)."""
        from certifia_shared.config import KafkaSecurity

        env = self.kafka_env(principal)
        return KafkaSecurity(
            protocol="SSL" if env["KAFKA_SECURITY_PROTOCOL"] == "SSL" else "PLAINTEXT",
            cafile=env.get("KAFKA_SSL_CAFILE", ""),
            certfile=env.get("KAFKA_SSL_CERTFILE", ""),
            keyfile=env.get("KAFKA_SSL_KEYFILE", ""),
        )

    def env_for(self, spec: ServiceSpec, instance: int = 1) -> dict[str, str]:
        env = {
            **os.environ,
            "OIDC_ISSUER": self.issuer,
            **self.kafka_env(spec.name),
            "PORT": str(self.port(spec.name, instance)),
            # the address the service is known by (credentials' URLs): the first instance's, for every one
            "PUBLIC_BASE_URL": self.url(spec.name),
            "CERTIFIA_SPANS_FILE": str(self.state_dir / "spans" / f"{self._key(spec.name, instance)}.jsonl"),
            "ARTIFACT_HOSTS": "127.0.0.1,localhost",
            # a local stack sends LMS webhooks to a receiver on this machine (deployments: https, public hosts)
            "WEBHOOK_ALLOW_HTTP": os.environ.get("WEBHOOK_ALLOW_HTTP", "true"),
            "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": os.environ.get("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
            # the demo schedules the thesis defence a few seconds after the deposit (deployments: 7 days to read it)
            "DEFENCE_READING_DAYS": os.environ.get("DEFENCE_READING_DAYS", "0"),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        if spec.name == "grading-compute":  # it fetches artifacts from assessment with its own token
            from identity import client_secret

            env["SERVICE_CLIENT_ID"] = "grading-compute"
            env["SERVICE_CLIENT_SECRET"] = client_secret("grading-compute")
            env.setdefault("GRADING_SECRET", self.grading_secret())
        if spec.name in self.database_urls:
            env["DATABASE_URL"] = self.database_urls[spec.name]
        return env

    def grading_secret(self) -> str:
        """The stack's grading secret (hidden test data derives from it): generated into
        ``<state_dir>/grading-secret`` (0600) at the first start, kept across restarts so verdicts stay
        reproducible; never printed. GRADING_SECRET in the environment takes precedence."""
        path = self.state_dir / "grading-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
        return path.read_text().strip()

    def start_service(self, service: str, instance: int = 1) -> None:
        spec = self.spec(service)
        key = self._key(spec.name, instance)
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "spans").mkdir(exist_ok=True)
        log = (logs / f"{key}.log").open("ab")
        process = subprocess.Popen(
            [self.python, "-m", spec.module],
            env=self.env_for(spec, instance),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[key] = process
        (self.state_dir / f"{key}.pid").write_text(str(process.pid))

    def wait_ready(self, service: str, timeout: float = 120.0, instance: int = 1) -> dict[str, Any]:
        """The service's readiness checks once /readyz answers 200."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        key = self._key(service, instance)
        while time.monotonic() < deadline:
            process = self.processes.get(key)
            if process is not None and process.poll() is not None:
                raise RuntimeError(
                    f"{key} exited with {process.returncode}; see {self.state_dir / 'logs' / (key + '.log')}"
                )
            try:
                response = httpx.get(self.url(service, instance) + "/readyz", timeout=2)
                if response.status_code == 200:
                    checks: dict[str, Any] = response.json().get("checks", {})
                    return checks
                last = response.text[:300]
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.3)
        raise RuntimeError(f"{key} not ready after {timeout:.0f}s ({last})")

    def stop_service(self, service: str, *, kill: bool = False, instance: int = 1) -> None:
        key = self._key(self.spec(service).name, instance)
        pid_file = self.state_dir / f"{key}.pid"
        process = self.processes.pop(key, None)
        pid = process.pid if process else int(pid_file.read_text()) if pid_file.exists() else None
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _alive(pid, process):
            time.sleep(0.1)
        if _alive(pid, process):
            os.killpg(pid, signal.SIGKILL)
        if process is not None:
            process.wait(timeout=10)
        pid_file.unlink(missing_ok=True)

    def up(self, services: tuple[str, ...] | None = None, *, echo: bool = False) -> None:
        names = services or tuple(s.name for s in SERVICES)
        if echo:
            print(
                "== starting Keycloak (development realm) and Apache Kafka (KRaft, single node)", flush=True
            )
        keycloak = self.start_keycloak_in_background()
        try:
            self.start_kafka()
        finally:
            _out, err = keycloak.communicate(timeout=300)
        if keycloak.returncode != 0:
            raise RuntimeError(f"scripts/keycloak.sh start failed:\n{err[-3000:]}")
        if echo:
            print(f"   identity provider ready: {self.issuer}", flush=True)
        for name in names:
            for k in self.instances_of(name):
                if echo:
                    print(f"== starting {self._key(name, k)} on {self.url(name, k)}", flush=True)
                self.start_service(name, k)
        for name in names:
            for k in self.instances_of(name):
                checks = self.wait_ready(name, instance=k)
                if echo:
                    print(f"   {self._key(name, k)} ready ({', '.join(checks)})", flush=True)

    def dead_letters(self, service: str, *args: str) -> subprocess.CompletedProcess[str]:
        """``python -m <service> dead-letters <args>`` with the service's own settings."""
        spec = self.spec(service)
        env = {**self.env_for(spec), "RUN_BACKGROUND_WORKERS": "false"}
        return subprocess.run(
            [self.python, "-m", spec.module, "dead-letters", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )

    def down(self) -> None:
        for spec in reversed(SERVICES):
            for k in self.instances_of(spec.name):
                self.stop_service(spec.name, instance=k)
        self.stop_kafka()
        self._keycloak("stop", check=False)


def _alive(pid: int, process: subprocess.Popen[bytes] | None) -> bool:
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def database_urls_from_env() -> dict[str, str]:
    if os.environ.get("CERTIFIA_DATABASE", "sqlite") != "postgres":
        return {}
    urls = {}
    for spec in SERVICES:
        done = subprocess.run(
            [str(ROOT / "scripts" / "postgres.sh"), "url", spec.name],
            capture_output=True,
            text=True,
            check=True,
        )
        urls[spec.name] = done.stdout.strip()
    return urls


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "up"
    stack = Stack(database_urls=database_urls_from_env())
    if command == "up":
        try:
            stack.up(echo=True)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if command == "down":
        stack.down()
        print("stopped the services and Kafka")
        return 0
    if command == "status":
        for spec in SERVICES:
            try:
                ok = httpx.get(stack.url(spec.name) + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                ok = False
            print(f"{spec.name:16} {stack.url(spec.name):24} {'ready' if ok else 'down'}")
        return 0
    if command == "dead-letters":
        for name in argv[2:] or [s.name for s in SERVICES]:
            done = stack.dead_letters(name, "list")
            if done.returncode != 0:
                print(f"{name}: {done.stderr.strip()}", file=sys.stderr)
                return done.returncode
            lines = done.stdout.splitlines()
            print(f"== {name}: {len(lines)} dead letter(s)")
            for line in lines:
                print(f"   {line}")
        return 0
    if command == "replay" and len(argv) >= 4:
        done = stack.dead_letters(argv[2], "replay", *argv[3:])
        print(done.stdout, end="")
        print(done.stderr, end="", file=sys.stderr)
        return done.returncode
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
