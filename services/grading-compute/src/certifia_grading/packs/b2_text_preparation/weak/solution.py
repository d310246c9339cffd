"""Weak submission for b2_text_preparation: lowercase and split on spaces, nothing else (punctuation,
markup, URLs and stop words stay; no stemming, no synonyms)."""


def prepare(reviews, stopwords, synonyms):
    return [review.lower().split() for review in reviews]
