"""How a service's process serves its API: one uvicorn worker, or ``WEB_WORKERS`` of them.

With one (the default) the process builds its application and serves it, as it always has. With more,
uvicorn's supervisor starts that many worker processes on the one listening socket; each builds the
application from the environment (``application``, the service's ``create_application``, called with no
argument) and is, for everything behind the API, one more instance of the service: its own engine and
pool, its own outbox relay, one more member of the service's consumer group (so instances x workers of a
consuming service stay at or under the topics' partitions, docs/sizing.md). Migrations take an advisory
lock (:func:`certifia_shared.db.migrate`), so workers starting together migrate one after the other.

Metrics: each worker counts in files under a folder this process makes (``PROMETHEUS_MULTIPROC_DIR``);
``/metrics``, whichever worker answers, reads them all (:func:`metrics_text`). A worker that stops
marks its live gauges dead; one killed with SIGKILL leaves its last gauge values until the service
restarts (the folder is made fresh at every start).
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import tempfile
from typing import Any

from certifia_shared.config import ServiceSettings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class WorkersRefused(SystemExit):
    """WEB_WORKERS above 1 on a database that cannot take several writing processes."""


def check_workers(settings: ServiceSettings, database_url: str) -> None:
    if settings.web_workers > 1 and not database_url.startswith("postgresql"):
        raise WorkersRefused(
            f"WEB_WORKERS={settings.web_workers} needs PostgreSQL: SQLite serialises writers across "
            "processes and its migrations take no lock. Set DATABASE_URL=postgresql+psycopg://... "
            "(scripts/postgres.sh), or WEB_WORKERS=1."
        )


def serve(settings: ServiceSettings, application: str, *, database_name: str) -> None:
    """Serve ``application`` (``"package.module:create_application"``) on the settings' host and port."""
    import uvicorn

    common: dict[str, Any] = {"host": settings.host, "port": settings.port, "log_config": None}
    if settings.web_workers == 1:
        module, _, name = application.partition(":")
        factory = getattr(importlib.import_module(module), name)
        uvicorn.run(factory(settings), **common)
        return
    check_workers(settings, settings.resolved_database_url(database_name))
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(application, factory=True, workers=settings.web_workers, **common)
    sock = listening_socket(settings.host, settings.port)
    folder = tempfile.mkdtemp(prefix=f"certifia-{settings.service_name}-metrics-")
    os.environ[MULTIPROC_ENV] = folder  # the workers, spawned, inherit it before importing prometheus
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
        shutil.rmtree(folder, ignore_errors=True)


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket the workers share, made as ``uvicorn.run(workers=n)`` makes it but with ``IPPROTO_TCP``:
    uvicorn's leaves ``proto`` at 0, its accepted connections inherit it, and asyncio then never sets
    TCP_NODELAY on them, so every keep-alive response after the first waited ~40 ms for the client's
    delayed ACK (measured: /healthz at 22 requests/s on one connection; uvicorn issue #3149)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"cannot listen on {host}:{port}: {exc} (another process holds the port? set PORT)"
        ) from exc
    sock.set_inheritable(True)
    return sock


def metrics_text() -> bytes:
    """What /metrics answers: this process's metrics, or every worker's under WEB_WORKERS > 1."""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    if not os.environ.get(MULTIPROC_ENV):
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def worker_stopped() -> None:
    """A worker's last act: its live gauges (outbox, lag, pending webhooks) leave /metrics' figures."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
