"""b2_text_preparation: the generated reviews, the scorer's measures on hand-made outputs (and their agreement
with scikit-learn), gaming strategies, and the reference / weak submissions graded in the real sandbox.

Here, what runs in this process (no sandbox, no child process); tests/integration/test_pack_b2_text_preparation.py has the rest.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader, SubmissionError
from certifia_grading.domain.spec import ScoreContext, Submission, load_module
from certifia_grading.domain.verdicts import judge
from certifia_grading.packs.b2_text_preparation import lexicon, measures
from certifia_grading.packs.b2_text_preparation.text import fold, related

PACK = "b2_text_preparation"
E3, E4 = "2.A2.C3.E3", "2.A2.C3.E4"
ENGINE = Grader(sandbox=BwrapSandbox())
SPEC = ENGINE.spec(PACK)
DATA = ENGINE.dataset(PACK)
HIDDEN = DATA.hidden
N = len(DATA.inputs["reviews"])


def _solution(which: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tp_{which}", SPEC.folder / which / "solution.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _solution("reference").prepare(**DATA.inputs)


def _metrics(tokens: Any) -> dict[str, float | None]:
    ctx = ScoreContext(inference=ENGINE.inference, spec=SPEC)
    return load_module(SPEC).score(Submission(outputs={"tokens": tokens}), DATA, ctx)


def _failing(metrics: dict[str, float | None]) -> dict[str, set[str]]:
    """criterion -> the metrics whose check fails (criteria with none left out)."""
    out = {}
    for crit in SPEC.criteria:
        verdict = judge(crit, metrics)
        failing = {c.metric for c in crit.checks if not c.passes(metrics.get(c.metric))}
        assert (verdict.verdict == "rejected") == bool(failing)
        if failing:
            assert "non atteint" in verdict.explanation
            out[crit.id] = failing
    return out


# -- the generated reviews -------------------------------------------------------------------------------
def test_reviews_are_deterministic_and_their_truth_matches_the_text() -> None:
    again = load_module(SPEC).build(ENGINE.hidden_seed(PACK))  # the seed derived from the grading secret
    assert again.inputs == DATA.inputs and again.hidden == HIDDEN
    assert set(DATA.inputs) == {"reviews", "stopwords", "synonyms"}  # no ground truth for the candidate
    kinds = [o["kind"] for r in HIDDEN["reviews"] for o in r["occurrences"]]
    assert min(kinds.count(k) / len(kinds) for k in ("lemma", "variant", "synonym")) > 0.2
    for text, truth in zip(DATA.inputs["reviews"], HIDDEN["reviews"], strict=True):
        concepts = [o["concept"] for o in truth["occurrences"]]
        assert concepts and len(concepts) == len(set(concepts))  # each concept at most once per review
        assert all(o["surface"] in text for o in truth["occurrences"])
        assert all(e["text"] in text and e["pieces"] for e in truth["noise"])
    noise_kinds = {e["kind"] for r in HIDDEN["reviews"] for e in r["noise"]}
    assert noise_kinds == {"html", "emoji", "url", "email", "reference", "price", "date", "rating"}
    assert all(lemma != canonical for lemma, canonical in DATA.inputs["synonyms"].items())


def test_spellings_of_one_concept_never_spell_another_nor_noise() -> None:
    """The scorer relates tokens to concepts by spelling: a plausible stem of a form (a prefix of 4
    letters or more, 3 for short words) must spell its own concept only, and neither stop words, filler
    words nor the pieces of a noise element may spell a concept."""
    index = measures.ConceptIndex(HIDDEN["forms"], set(HIDDEN["stopwords"]))
    elements = sorted({p for r in HIDDEN["reviews"] for e in r["noise"] for p in e["pieces"]})
    for k, name in enumerate(index.names):
        for form in HIDDEN["forms"][name]:
            for size in range(max(3, min(len(form) - 2, 4)), len(form) + 1):
                assert index.of(form[:size]) == {k}, (name, form[:size])
                assert not measures.noise_left(elements, measures.own_pieces([form[:size]], set())), form
    for word in [*lexicon.STOPWORDS, *lexicon.FILLERS, *sorted(elements)]:
        assert not index.of(word), word
    assert not {fold(f) for forms in HIDDEN["forms"].values() for f in forms} & set(HIDDEN["stopwords"])


def test_related_accepts_stems_lemmas_and_forms_but_not_neighbours() -> None:
    assert (
        related("livraisons", "livraison") and related("livr", "livraison") and related("livrer", "livraison")
    )
    assert related("vit", "vite") and related("heureux", "heureuse") and related("nul", "nul")
    assert not related("liv", "livraison") and not related("reco", "recu") and not related("nu", "nul")
    assert not related("livraisonrapide", "livraison") and not related("com", "commande")


def test_noise_left_sees_pieces_and_their_stems_but_not_short_stop_word_stems() -> None:
    url = ["48213", "=", "cmd", "fr", "https", "mail", "shopix", "source", "utm"]
    stop = set(HIDDEN["stopwords"])
    assert measures.noise_left(url, measures.own_pieces(["https://shopix.fr"], stop))
    assert measures.noise_left(url, measures.own_pieces(["livraison", "http"], stop))  # a stemmed piece
    assert measures.noise_left(url, measures.own_pieces(["cmd48213"], stop))
    assert not measures.noise_left(url, measures.own_pieces(["mai", "sourire", "livraison", "de"], stop))
    assert measures.noise_left(["😡"], measures.own_pieces(["nul😡"], stop))


# -- the scorer on hand-made outputs ----------------------------------------------------------------------
def test_reference_tokens_score_perfectly_in_process() -> None:
    metrics = _metrics(REFERENCE)
    for name in ("token_form_rate", "noise_removed", "content_kept", "term_purity", "term_precision"):
        assert metrics[name] == 1.0, name
    assert metrics["variant_normalisation"] == metrics["synonym_normalisation"] == 1.0
    assert metrics["stopword_share"] == 0.0 and metrics["terms_per_concept"] == 1.0
    assert _failing(metrics) == {}


def _with(review: int, tokens: list[str]) -> list[list[str]]:
    out = [list(row) for row in REFERENCE]
    out[review] = tokens
    return out


def test_a_leftover_url_and_a_stop_word_are_measured_exactly() -> None:
    r = next(i for i, t in enumerate(HIDDEN["reviews"]) if any(e["kind"] == "url" for e in t["noise"]))
    url = next(e for e in HIDDEN["reviews"][r]["noise"] if e["kind"] == "url")
    total = sum(len(t["noise"]) for t in HIDDEN["reviews"])
    flat = sum(map(len, REFERENCE))
    metrics = _metrics(_with(r, [*REFERENCE[r], url["text"], "les"]))
    dropped = 1.0 - float(metrics["noise_removed"] or 0.0)
    assert 1 / total - 1e-12 <= dropped <= len(HIDDEN["reviews"][r]["noise"]) / total + 1e-12
    assert metrics["token_form_rate"] == pytest.approx((flat + 1) / (flat + 2))
    assert metrics["stopword_share"] == pytest.approx(1 / (flat + 2))
    assert metrics["content_kept"] == 1.0


def test_a_raw_variant_left_for_one_occurrence_costs_exactly_that_occurrence() -> None:
    variants = [
        (r, o) for r, t in enumerate(HIDDEN["reviews"]) for o in t["occurrences"] if o["kind"] == "variant"
    ]
    r, occ = next((r, o) for r, o in variants if o["surface"].isalpha() and o["surface"].islower())
    index = measures.ConceptIndex(HIDDEN["forms"], set(HIDDEN["stopwords"]))
    term = next(t for t in REFERENCE[r] if index.of(t) == index.of(occ["surface"]))
    metrics = _metrics(_with(r, [occ["surface"] if t == term else t for t in REFERENCE[r]]))
    assert metrics["variant_normalisation"] == pytest.approx(1 - 1 / len(variants))
    assert metrics["content_kept"] == 1.0  # the raw form still carries the content
    assert metrics["term_purity"] is not None and metrics["term_purity"] < 1.0
    dropped = _metrics(_with(r, [t for t in REFERENCE[r] if t != term]))
    occurrences = sum(len(t["occurrences"]) for t in HIDDEN["reviews"])
    assert dropped["content_kept"] == pytest.approx(1 - 1 / occurrences)


def test_punctuated_tokens_keep_content_but_are_not_words() -> None:
    r = 0
    glued = [f"l'{t}," for t in REFERENCE[r]]
    metrics = _metrics(_with(r, glued))
    assert metrics["content_kept"] == 1.0
    assert metrics["token_form_rate"] == pytest.approx(1 - len(glued) / sum(map(len, REFERENCE)))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"tokens": []}, "must be a list of 400"),
        ([["a"]] * 399, "got a list of 399"),
        ([["a"]] * 399 + ["a b c"], r"'tokens'\[399\] must be a list of strings, got str"),
        ([["a"]] * 399 + [["ok", 3]], r"'tokens'\[399\] must be a list of strings, got a non-string"),
        ([["a"]] * 399 + [["x"] * 201], r"'tokens'\[399\] has 201 tokens"),
    ],
)
def test_malformed_output_is_refused_with_a_reason(value: Any, reason: str) -> None:
    with pytest.raises(SubmissionError, match=reason):
        _metrics(value)


def test_term_and_content_metrics_agree_with_sklearn() -> None:
    rng = np.random.default_rng(0)
    vocabulary = sorted({t for row in REFERENCE for t in row})
    weak = _solution("weak").prepare(**DATA.inputs)
    noisy = [[*row, *rng.choice(vocabulary, 2)] for row in REFERENCE]  # terms where they do not belong
    index = measures.ConceptIndex(HIDDEN["forms"], set(HIDDEN["stopwords"]))
    for tokens in (weak, noisy):
        metrics = _metrics(tokens)
        ind = measures.indicators(tokens, HIDDEN, index)
        y, term = ind.truth.astype(int), ind.term.astype(int)
        assert metrics["term_normalisation"] == pytest.approx(skm.recall_score(y, term, average="micro"))
        assert metrics["term_precision"] == pytest.approx(skm.precision_score(y, term, average="micro"))
        assert metrics["content_kept"] == pytest.approx(
            skm.recall_score(y, ind.kept.astype(int), average="micro")
        )
        for kind in ("variant", "synonym"):
            mask = ind.truth & (ind.kinds == kind)
            got = metrics[f"{kind}_normalisation"]
            assert got == pytest.approx(skm.recall_score(np.ones(mask.sum()), ind.term[mask].astype(int)))
    assert _metrics(noisy)["term_precision"] < 0.9 < float(_metrics(weak)["term_precision"] or 0)


# -- gaming and partial preparations ----------------------------------------------------------------------
def _reference_with(**changes: Any) -> Callable[[], list[list[str]]]:
    def run() -> list[list[str]]:
        module = _solution("reference")
        args = dict(DATA.inputs)
        for name, value in changes.items():
            if name in args:
                args[name] = value
            else:
                setattr(module, name, value)
        return module.prepare(**args)

    return run


STRATEGIES: dict[str, tuple[Callable[[], Any], dict[str, set[str]]]] = {
    "constant token": (lambda: [["avis"] for _ in range(N)], {E3: {"content_kept"}, E4: {
        "variant_normalisation", "synonym_normalisation", "term_purity", "term_precision"}}),
    "nothing returned": (lambda: [[] for _ in range(N)], {E3: {"token_form_rate", "content_kept"}, E4: {
        "variant_normalisation", "synonym_normalisation", "term_purity", "term_precision", "stopword_share"}}),
    "whole vocabulary in every review": (
        lambda: [sorted({t for row in REFERENCE for t in row})] * N, {E4: {"term_precision"}}),
    "raw forms kept beside the stems": (
        lambda: [a + b for a, b in zip(REFERENCE, _reference_with(stem=lambda w: w)(), strict=True)],
        {E4: {"term_purity"}}),
    "synonym table ignored": (_reference_with(synonyms={}), {E4: {"synonym_normalisation", "term_purity"}}),
    "stop words kept": (_reference_with(stopwords=[]), {E4: {"stopword_share"}}),
    "no stemming": (_reference_with(stem=lambda w: w), {E4: {
        "variant_normalisation", "synonym_normalisation", "term_purity"}}),
    "only tags removed": (_reference_with(NOISE=re.compile(r"<[^>]*>")), {E3: {"noise_removed"}}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_gaming_and_partial_preparations_fail_on_the_right_checks(name: str) -> None:
    make, expected = STRATEGIES[name]
    assert _failing(_metrics(make())) == expected
