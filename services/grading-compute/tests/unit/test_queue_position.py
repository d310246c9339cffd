"""The fair grading queue's position rule (issue 12, item 4), direct: where a queued job stands in the
round-robin across candidates. The claims themselves, on SQLite, are in tests/integration/test_fair_queue.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from certifia_grading.domain.queue import queue_position

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_the_queue_position_follows_the_round_robin() -> None:
    queued = [("a", "a0"), ("a", "a1"), ("a", "a2"), ("b", "b0"), ("c", "c0"), ("c", "c1")]
    last = {"a": T0, "b": None, "c": T0 - timedelta(hours=1)}
    # order: b (never claimed), c (older claim), a; then rounds b0 c0 a0 | c1 a1 | a2
    expected = ["b0", "c0", "a0", "c1", "a1", "a2"]
    assert [queue_position(queued, last, s) for s in expected] == [1, 2, 3, 4, 5, 6]
    assert queue_position(queued, last, "gone") is None
