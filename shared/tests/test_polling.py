"""The one polling loop: busy steps run back to back, idle ones wait, failures back off and heal."""

from __future__ import annotations

import threading

from certifia_shared.polling import PollingLoop


class Steps:
    def __init__(self, answers: list[object], stop: threading.Event) -> None:
        self.answers = answers
        self.stop = stop
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else 0
        if not self.answers:
            self.stop.set()
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, int)
        return answer


class RecordingStop(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0))
        return self.is_set()


def test_busy_steps_do_not_wait_idle_ones_wait_the_poll_interval() -> None:
    stop = RecordingStop()
    steps = Steps([3, 2, 0, 0], stop)
    loop = PollingLoop(steps, name="t", poll_seconds=0.2)
    loop.run(stop)
    assert steps.calls == 4
    assert stop.waits == [0.2, 0.2]  # only after the two idle steps
    assert loop.healthy


def test_failures_back_off_doubling_up_to_the_cap_then_a_success_heals() -> None:
    stop = RecordingStop()
    cleaned: list[int] = []
    steps = Steps([RuntimeError("a"), RuntimeError("b"), RuntimeError("c"), RuntimeError("d"), 0], stop)
    loop = PollingLoop(
        steps, name="t", poll_seconds=1.0, max_backoff_seconds=5.0, on_failure=lambda: cleaned.append(1)
    )
    health: list[bool] = []
    original = stop.wait

    def wait(timeout: float | None = None) -> bool:
        health.append(loop.healthy)
        return original(timeout)

    stop.wait = wait  # type: ignore[method-assign]
    loop.run(stop)
    assert stop.waits == [2.0, 4.0, 5.0, 5.0, 1.0]
    assert health == [False, False, False, False, True]
    assert len(cleaned) == 4


def test_a_failing_clean_up_does_not_kill_the_loop() -> None:
    stop = RecordingStop()
    steps = Steps([RuntimeError("a"), 0], stop)

    def broken() -> None:
        raise OSError("close failed")

    PollingLoop(steps, name="t", poll_seconds=0.1, on_failure=broken).run(stop)
    assert steps.calls == 2


def test_with_a_full_batch_size_only_full_batches_run_back_to_back() -> None:
    """The outbox relay under a trickle of requests published one row per batch, back to back: a
    transaction and a broker round trip per event. A partial batch now waits like an idle step."""
    stop = RecordingStop()
    steps = Steps([200, 200, 3, 1, 0], stop)
    PollingLoop(steps, name="t", poll_seconds=0.2, full_batch=200).run(stop)
    assert steps.calls == 5
    assert stop.waits == [0.2, 0.2, 0.2]  # after the partial batches (3, 1) and the idle step
