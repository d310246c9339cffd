"""WEB_WORKERS: ``python -m certifia_enrolment`` serving with two uvicorn workers (issue 15, item 2).

The service runs as deployments run it, a process of its own on PostgreSQL and the test broker, trusting
the suites' issuer (this process serves its keys). Before WEB_WORKERS every service served from one
process whatever the machine had.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from certifia_enrolment.config import Settings
from certifia_shared.serving import WorkersRefused, check_workers
from certifia_shared.testing import auth, fresh_pg_url, kafka_settings, wait_for

pytestmark = pytest.mark.integration
LMS = auth("lms", subject="moodle-client", client_id="moodle")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and "spawn_main" in (stat.parent / "cmdline").read_text(errors="replace"):
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int, str]]:
    url = fresh_pg_url("enrolment")
    port = _free_port()
    env = {
        **os.environ,
        **{
            k.upper(): str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in kafka_settings("enrolment").items()
        },
        "DATABASE_URL": url,
        "PORT": str(port),
        "WEB_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "enrolment.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "certifia_enrolment"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert process.poll() is None, (tmp_path / "enrolment.log").read_text()[-3000:]
            try:
                return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=120, what="enrolment with WEB_WORKERS=2 never became ready")
        yield base, process.pid, url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _counted(metrics: str, status: str) -> float:
    pattern = re.compile(
        r'^certifia_http_requests_total\{(?=[^}]*method="POST")(?=[^}]*route="/candidates")'
        rf'(?=[^}}]*status="{status}")[^}}]*\}} (\S+)$',
        re.M,
    )
    return sum(float(v) for v in pattern.findall(metrics))


def test_two_workers_serve_enrol_relay_and_count_as_one_service(served: tuple[str, int, str]) -> None:
    base, pid, url = served
    assert len(_children(pid)) == 2, "WEB_WORKERS=2 should start two uvicorn worker processes"

    with httpx.Client(base_url=base, timeout=10) as client:
        for i in range(24):
            body = {
                "external_id": f"w-{uuid.uuid4().hex[:8]}-{i}",
                "given_name": "Ana",
                "family_name": "Banc",
                "email": "ana@example.org",
            }
            # a fresh connection each time, so the kernel hands them to either worker
            answer = httpx.post(f"{base}/candidates", json=body, headers=LMS, timeout=10)
            assert answer.status_code == 201, answer.text
        # whichever worker answers /metrics counts every worker's requests
        for _ in range(4):
            assert _counted(client.get("/metrics").text, "201") == 24

    engine = create_engine(url)
    try:

        def relayed() -> bool:
            with engine.connect() as conn:
                pending = conn.execute(
                    text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                ).scalar()
                total = conn.execute(text("SELECT count(*) FROM outbox")).scalar()
            return pending == 0 and total == 24

        wait_for(relayed, timeout=60, what="the workers' relays never published the 24 enrolments")
    finally:
        engine.dispose()


def test_several_workers_are_refused_on_sqlite() -> None:
    settings = Settings(web_workers=2)
    with pytest.raises(WorkersRefused, match="WEB_WORKERS=2 needs PostgreSQL"):
        check_workers(settings, "sqlite:///var/enrolment.db")
    check_workers(settings, "postgresql+psycopg://u:p@127.0.0.1/enrolment")
    check_workers(Settings(web_workers=1), "sqlite:///var/enrolment.db")
