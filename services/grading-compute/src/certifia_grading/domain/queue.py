"""Where a queued job stands in the fair queue (what the grading status shows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

NEVER = datetime.min.replace(tzinfo=UTC)


def queue_position(
    queued: Sequence[tuple[str, str]], last_claims: dict[str, datetime | None], submission_id: str
) -> int | None:
    """1 for the job claimed next, if nothing new arrives and no candidate is held by the in-flight cap.

    ``queued``: (candidate, submission) pairs, each candidate's in claim order (oldest first);
    ``last_claims``: each candidate's last claim (None: never). Claims go round-robin, the candidate
    whose last claim is oldest first, so the k-th job (from 0) of the r-th candidate in that order
    comes after min(n, k + 1) jobs of each candidate before it, min(n, k) of each one after it, and
    its own k. None when the job is not queued."""
    per_candidate: dict[str, list[str]] = {}
    for candidate, submission in queued:
        per_candidate.setdefault(candidate, []).append(submission)
    order = sorted(per_candidate, key=lambda c: (last_claims.get(c) is not None, last_claims.get(c) or NEVER))
    for rank, candidate in enumerate(order):
        if submission_id in per_candidate[candidate]:
            k = per_candidate[candidate].index(submission_id)
            ahead = sum(
                min(len(per_candidate[other]), k + 1 if other_rank < rank else k)
                for other_rank, other in enumerate(order)
                if other != candidate
            )
            return 1 + ahead + k
    return None
