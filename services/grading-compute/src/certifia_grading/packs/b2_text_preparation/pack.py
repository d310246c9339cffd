"""Bloc 2 text preparation: French e-commerce reviews to tokenise, clean and normalise (2.EV2).

The reviews are generated from templates (see corpus.py), so the scorer knows which content concept
each word stands for, in which form (inflection, synonym, shouting, missing accents) and which elements
are non-informative (markup, URLs, e-mail addresses, emojis, references, prices, dates, ratings). The
candidate gets the reviews, a stop-word list and a synonym table; the ground truth stays hidden.
"""

from __future__ import annotations

import numpy as np

from certifia_grading.engine.spec import Dataset, ScoreContext, Submission
from certifia_grading.packs.b2_text_preparation import corpus, lexicon
from certifia_grading.packs.b2_text_preparation.measures import folded_stopwords, measure, parse_tokens


def build(seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    texts, truth = zip(*(corpus.review(rng) for _ in range(corpus.N_REVIEWS)), strict=True)
    stopwords = sorted(set(lexicon.STOPWORDS))
    hidden = {
        "reviews": list(truth),
        "forms": corpus.concept_forms(),
        "stopwords": folded_stopwords(stopwords),
    }
    inputs = {"reviews": list(texts), "stopwords": stopwords, "synonyms": corpus.synonym_table()}
    return Dataset(inputs=inputs, hidden=hidden)


def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
    tokens = parse_tokens(submission.outputs.get("tokens"), len(dataset.inputs["reviews"]))
    return measure(tokens, dataset.hidden)
