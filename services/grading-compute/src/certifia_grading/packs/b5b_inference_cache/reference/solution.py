"""Reference for b5b_inference_cache: LRU cache whose entries carry their birth time and model version.

Validity is checked on every read, and obsolete entries are also dropped as soon as they become obsolete:
the whole cache on a deployment, the key on a feature update, expired entries at every event (TTL is the
same for all entries, so birth order is expiry order). Capacity is enforced by evicting the least
recently used entry.
"""

from collections import OrderedDict

import pandas as pd


class PredictionCache:
    def __init__(self, capacity: int, ttl_ms: int) -> None:
        self.capacity, self.ttl_ms = capacity, ttl_ms
        self.lru: OrderedDict[str, tuple[int, int]] = OrderedDict()  # key -> (born_ms, version), LRU first
        self.born: OrderedDict[str, int] = OrderedDict()  # key -> born_ms, oldest first

    def _drop(self, key: str, gone: list[str]) -> None:
        del self.lru[key], self.born[key]
        gone.append(key)

    def expire(self, now: int, gone: list[str]) -> None:
        while self.born and now - next(iter(self.born.values())) >= self.ttl_ms:
            self._drop(next(iter(self.born)), gone)

    def deploy(self, gone: list[str]) -> None:
        gone.extend(self.lru)
        self.lru.clear()
        self.born.clear()

    def invalidate(self, key: str, gone: list[str]) -> None:
        if key in self.lru:
            self._drop(key, gone)

    def lookup(self, key: str, now: int, version: int, gone: list[str]) -> bool:
        entry = self.lru.get(key)
        if entry is None:
            return False
        born, made_by = entry
        if made_by != version or now - born >= self.ttl_ms:  # never serve an entry we cannot vouch for
            self._drop(key, gone)
            return False
        self.lru.move_to_end(key)
        return True

    def store(self, key: str, now: int, version: int, gone: list[str]) -> None:
        if len(self.lru) >= self.capacity:
            self._drop(next(iter(self.lru)), gone)
        self.lru[key] = (now, version)
        self.born[key] = now


def simulate(trace: pd.DataFrame, params: dict) -> dict:
    cache = PredictionCache(int(params["capacity"]), int(params["ttl_ms"]))
    hits, stored, removed = [], [], []
    for now, kind, key, version in trace[["t_ms", "kind", "key", "version"]].itertuples(index=False):
        gone: list[str] = []
        cache.expire(int(now), gone)
        hit = store = False
        if kind == "deploy":
            cache.deploy(gone)
        elif kind == "update":
            cache.invalidate(key, gone)
        else:
            hit = cache.lookup(key, int(now), int(version), gone)
            if not hit:
                cache.store(key, int(now), int(version), gone)
                store = True
        hits.append(hit)
        stored.append(store)
        removed.append(gone)
    return {"hits": hits, "stored": stored, "removed": removed}
