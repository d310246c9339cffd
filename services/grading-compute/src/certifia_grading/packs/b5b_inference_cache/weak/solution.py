"""Weak submission for b5b_inference_cache: a plain memo dict keyed by input.

Once a key has been predicted it is served forever: deployments, feature updates and the TTL are ignored
and nothing is ever evicted.
"""

import pandas as pd


def simulate(trace: pd.DataFrame, params: dict) -> dict:
    memo: set[str] = set()
    hits, stored = [], []
    for kind, key in trace[["kind", "key"]].itertuples(index=False):
        hit = kind == "request" and key in memo
        store = kind == "request" and not hit
        if store:
            memo.add(key)
        hits.append(hit)
        stored.append(store)
    return {"hits": hits, "stored": stored, "removed": [[] for _ in hits]}
