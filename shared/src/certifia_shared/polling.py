"""The one polling loop behind every background worker that drains a table: the outbox relay, the webhook
delivery worker, the grading job worker.

``step()`` does one batch and returns how much it did; a non-zero answer runs the next batch at once, zero
waits ``poll_seconds``. With ``full_batch`` only a full batch runs the next at once; a partial one waits
too, so that work arriving one row at a time is taken in batches (the outbox relay: one row per batch
under a steady trickle of requests was a transaction and a broker round trip per event). A failing step
is logged, marks the worker unhealthy and backs off (doubling, up to ``max_backoff_seconds``) until a
step succeeds again. The loop never dies: the work it left stays in its table for the next step.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PollingLoop:
    def __init__(
        self,
        step: Callable[[], int | bool],
        *,
        name: str,
        poll_seconds: float,
        max_backoff_seconds: float = 5.0,
        on_failure: Callable[[], None] | None = None,
        full_batch: int | None = None,
    ) -> None:
        self._step = step
        self._name = name
        self._poll = poll_seconds
        self._max_backoff = max(max_backoff_seconds, poll_seconds)
        self._on_failure = on_failure
        self._full_batch = full_batch
        self.healthy = False

    def run(self, stop: threading.Event) -> None:
        backoff = self._poll
        while not stop.is_set():
            try:
                worked = self._step()
                self.healthy = True
                backoff = self._poll
                if worked and (self._full_batch is None or int(worked) >= self._full_batch):
                    continue
            except Exception:
                self.healthy = False
                log.exception(
                    "%s failed; retrying in %.1f s", self._name, min(backoff * 2, self._max_backoff)
                )
                if self._on_failure is not None:
                    try:
                        self._on_failure()
                    except Exception:
                        log.warning("%s: clean-up after a failure failed", self._name, exc_info=True)
                backoff = min(backoff * 2, self._max_backoff)
            stop.wait(backoff)
