"""Correct caches the scorer replays on the same trace, to put the candidate's hit rate in context.

Both know, from the ground truth, when each cached prediction becomes obsolete (``stale_at``) and drop it
at that moment, so they never serve stale data and never waste capacity on it.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict

import numpy as np


def _purge(heap: list[tuple[int, int, str]], holder: dict[str, int], now: int) -> None:
    """Drop every held entry that is obsolete at ``now`` (heap of (stale_at, request index, key))."""
    while heap and heap[0][0] <= now:
        _, index, key = heapq.heappop(heap)
        if holder.get(key) == index:  # else the key was refreshed or evicted since
            del holder[key]


def lru_hits(
    t: np.ndarray, keys: list[str], requests: np.ndarray, stale_at: np.ndarray, capacity: int
) -> int:
    """LRU with every obsolete entry removed as soon as it is obsolete; every miss is stored."""
    cache: OrderedDict[str, int] = OrderedDict()  # key -> request index, least recently used first
    heap: list[tuple[int, int, str]] = []
    hits = 0
    for j in requests:
        _purge(heap, cache, int(t[j]))
        key = keys[j]
        if key in cache:
            cache.move_to_end(key)
            hits += 1
            continue
        if len(cache) >= capacity:
            cache.popitem(last=False)
        cache[key] = int(j)
        heapq.heappush(heap, (int(stale_at[j]), int(j), key))
    return hits


def belady_hits(
    t: np.ndarray, keys: list[str], requests: np.ndarray, stale_at: np.ndarray, capacity: int
) -> int:
    """Belady's offline optimum: keep the entries whose next valid use comes first (or skip storing)."""
    never = np.iinfo(np.int64).max
    next_request = np.full(len(t), -1)
    last: dict[str, int] = {}
    for j in requests[::-1]:
        next_request[j] = last.get(keys[j], -1)
        last[keys[j]] = int(j)
    held: dict[str, int] = {}  # key -> request index of the held prediction
    next_use: dict[str, int] = {}
    heap: list[tuple[int, int, str]] = []
    hits = 0
    for j in requests:
        _purge(heap, held, int(t[j]))
        key, following = keys[j], int(next_request[j])
        if key in held:
            hits += 1
            origin = held[key]
        else:
            origin = int(j)
        use = following if following >= 0 and t[following] < stale_at[origin] else never
        if key in held:
            next_use[key] = use
            continue
        if len(held) >= capacity:
            victim = max(held, key=lambda k: next_use[k])
            if next_use[victim] <= use:
                continue  # the new prediction is needed later than everything held: do not store it
            del held[victim]
        held[key], next_use[key] = origin, use
        heapq.heappush(heap, (int(stale_at[j]), int(j), key))
    return hits
