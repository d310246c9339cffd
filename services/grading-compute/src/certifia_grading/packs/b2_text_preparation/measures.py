"""The trusted scorer's measures of a tokenisation against the ground truth of the reviews.

Concept presence is compared as multi-label indicator matrices (reviews x concepts): ``truth`` (the
review mentions the concept), ``kept`` (some token spells one of the concept's forms) and ``term``
(the review holds the one token the submission uses most for the concept). term_normalisation and
term_precision are the micro-averaged recall and precision of ``term`` against ``truth``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from certifia_grading.engine.model import SubmissionError
from certifia_grading.packs.b2_text_preparation.text import fold, letter_pieces, pieces, related

MAX_TOKENS = 200  # per review: the longest review has under 30 words


def parse_tokens(value: Any, n: int) -> list[list[str]]:
    """The candidate's output: one list of string tokens per review, in order; else SubmissionError."""
    if not isinstance(value, list) or len(value) != n:
        got = f"a list of {len(value)}" if isinstance(value, list) else type(value).__name__
        raise SubmissionError(
            f"output 'tokens' must be a list of {n} lists of strings (one per review), got {got}"
        )
    for i, row in enumerate(value):
        if not isinstance(row, list) or not all(isinstance(t, str) for t in row):
            bad = type(row).__name__ if not isinstance(row, list) else "a non-string token"
            raise SubmissionError(f"output 'tokens'[{i}] must be a list of strings, got {bad}")
        if len(row) > MAX_TOKENS:
            raise SubmissionError(
                f"output 'tokens'[{i}] has {len(row)} tokens, more than {MAX_TOKENS}: a review has far fewer words"
            )
    return value


class ConceptIndex:
    """Which concepts a token spells (through any of its letter runs that is not a stop word)."""

    def __init__(self, forms: dict[str, list[str]], stopwords: set[str]) -> None:
        self.names = sorted(forms)
        self.stop = stopwords
        self._by_prefix: dict[str, list[tuple[int, str]]] = {}
        for k, name in enumerate(self.names):
            for form in forms[name]:
                self._by_prefix.setdefault(form[:3], []).append((k, form))
        self._cache: dict[str, frozenset[int]] = {}

    def of(self, token: str) -> frozenset[int]:
        found = self._cache.get(token)
        if found is None:
            hits = set()
            for piece in letter_pieces(token):
                if piece not in self.stop:
                    hits |= {k for k, form in self._by_prefix.get(piece[:3], ()) if related(piece, form)}
            found = self._cache[token] = frozenset(hits)
        return found


def is_stopword(token: str, stop: set[str]) -> bool:
    parts = letter_pieces(token)
    return bool(parts) and all(p in stop for p in parts)


def noise_left(element_pieces: list[str], own: dict[str, set[str]]) -> bool:
    """An element is left when the review's token pieces (``own``: stop words aside, keyed by their first
    four characters) still hold one of its pieces, or a stem of one; looking stems up by four characters
    keeps shorter ones out ("mai", the stem of the stop word "mais", is not taken for "mail")."""
    for q in element_pieces:
        near = own.get(q[:4], set())
        if q in near or (q.isalpha() and any(related(p, q) for p in near)):
            return True
    return False


def own_pieces(tokens: list[str], stop: set[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for p in {p for t in set(tokens) for p in pieces(t)} - stop:
        found.setdefault(p[:4], set()).add(p)
    return found


def _terms(tokens: list[list[str]], truth: np.ndarray, index: ConceptIndex) -> tuple[np.ndarray, float]:
    """For each concept, its term: the token present in most of its reviews (then the one seen in fewest
    reviews, then alphabetical). Returns where each term is present, and the term's share of the tokens
    spelling its concept in the concept's reviews (purity: 1 when no other spelling is left beside it)."""
    sets = [set(row) for row in tokens]
    spread = Counter(t for s in sets for t in s)
    term = np.zeros_like(truth)
    spelt = own = 0
    for k in range(truth.shape[1]):
        rows = np.flatnonzero(truth[:, k])
        hits: Counter[str] = Counter(t for r in rows for t in sets[r] if k in index.of(t))
        if hits:
            best = min(hits, key=lambda t: (-hits[t], spread[t], t))
            term[:, k] = [best in s for s in sets]
            spelling = [t for r in rows for t in tokens[r] if k in index.of(t)]
            spelt, own = spelt + len(spelling), own + spelling.count(best)
    return term, own / spelt if spelt else 0.0


def _share(mask: np.ndarray, values: np.ndarray) -> float | None:
    return float(values[mask].mean()) if mask.any() else None


@dataclass(frozen=True)
class Indicators:
    """Reviews x concepts: mentioned (``truth``, with the ``kinds`` of the mentions), spelt by some token
    (``kept``), holding the concept's term (``term``); ``purity`` as in _terms."""

    truth: np.ndarray
    kinds: np.ndarray
    kept: np.ndarray
    term: np.ndarray
    purity: float


def indicators(tokens: list[list[str]], hidden: dict[str, Any], index: ConceptIndex) -> Indicators:
    reviews = hidden["reviews"]
    column = {name: k for k, name in enumerate(index.names)}
    truth = np.zeros((len(reviews), len(column)), dtype=bool)
    kinds = np.full(truth.shape, "", dtype=object)
    for r, review in enumerate(reviews):
        for occ in review["occurrences"]:
            truth[r, column[occ["concept"]]] = True
            kinds[r, column[occ["concept"]]] = occ["kind"]
    spelt = [set().union(*map(index.of, row)) for row in tokens]
    kept = np.array([[k in found for k in range(len(column))] for found in spelt], dtype=bool)
    term, purity = _terms(tokens, truth, index)
    return Indicators(truth=truth, kinds=kinds, kept=kept, term=term, purity=purity)


def _noise_removed(tokens: list[list[str]], reviews: list[dict[str, Any]], stop: set[str]) -> float:
    own = [own_pieces(row, stop) if reviews[r]["noise"] else {} for r, row in enumerate(tokens)]
    elements = [(r, e["pieces"]) for r, review in enumerate(reviews) for e in review["noise"]]
    return 1.0 - sum(noise_left(p, own[r]) for r, p in elements) / len(elements)


def measure(tokens: list[list[str]], hidden: dict[str, Any]) -> dict[str, float | None]:
    stop = set(hidden["stopwords"])
    index = ConceptIndex(hidden["forms"], stop)
    ind = indicators(tokens, hidden, index)
    truth, term = ind.truth, ind.term
    flat = [t for row in tokens for t in row]
    distinct = set(flat)
    stopword = {t: is_stopword(t, stop) for t in distinct}
    return {
        "token_form_rate": float(np.mean([t.isalpha() for t in flat])) if flat else None,
        "noise_removed": _noise_removed(tokens, hidden["reviews"], stop),
        "content_kept": float(ind.kept[truth].mean()),
        "term_normalisation": float(term[truth].mean()),
        "term_precision": float((term & truth).sum() / term.sum()) if term.any() else 0.0,
        "variant_normalisation": _share(truth & (ind.kinds == "variant"), term),
        "synonym_normalisation": _share(truth & (ind.kinds == "synonym"), term),
        "term_purity": ind.purity,
        "stopword_share": float(np.mean([stopword[t] for t in flat])) if flat else None,
        "terms_per_concept": sum(bool(index.of(t)) for t in distinct) / truth.shape[1],
        "tokens_per_review": len(flat) / len(tokens),
    }


def folded_stopwords(words: list[str]) -> list[str]:
    return sorted({fold(w) for w in words})
