"""Assemble whole reviews (clauses + non-informative elements) and their ground truth."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np

from certifia_grading.packs.b2_text_preparation import lexicon as lx
from certifia_grading.packs.b2_text_preparation.reviews import TEMPLATES, Word, clause, concepts_of
from certifia_grading.packs.b2_text_preparation.text import fold, pieces

N_REVIEWS = 400
NOISE_RATES = {"url": 0.12, "email": 0.08, "reference": 0.15, "price": 0.12, "date": 0.1, "rating": 0.15}
_ENTITY = re.compile(r"&[a-zA-Z]+;")
_STOP = frozenset(fold(w) for w in lx.STOPWORDS)


def synonym_table() -> dict[str, str]:
    table = dict(lx.EXTRA_SYNONYMS)
    for lexemes in lx.CONCEPTS.values():
        table.update({lex.lemma: lexemes[0].lemma for lex in lexemes if lex.synonym})
    return dict(sorted(table.items()))


def concept_forms() -> dict[str, list[str]]:
    return {
        c: sorted({fold(f) for lex in lexemes for f in lex.forms()}) for c, lexemes in lx.CONCEPTS.items()
    }


def element_pieces(text: str) -> list[str]:
    """What would betray a non-informative element among the tokens (stop words never count)."""
    return sorted({p for p in pieces(text) if p not in _STOP})


def _noise_text(rng: np.random.Generator, kind: str) -> str:
    pools: dict[str, tuple[str, ...]] = {"url": lx.URLS, "email": lx.EMAILS, "reference": lx.REFERENCES}
    pools.update({"price": lx.PRICES, "date": lx.DATES, "rating": lx.RATINGS})
    values = {
        "n": str(rng.integers(10000, 99999)),
        "code": "".join(rng.choice(list("KXZWQ23456789"), size=6)),
        "d": str(rng.integers(10, 99)),
        "name": str(rng.choice(lx.NAMES)),
        "name2": str(rng.choice(lx.NAMES)),
        "e": str(rng.integers(5, 400)),
        "c": str(rng.integers(10, 99)),
        "dd": str(rng.integers(1, 29)).zfill(2),
        "mm": str(rng.integers(1, 13)).zfill(2),
        "s": str(rng.integers(0, 6)),
    }
    return str(rng.choice(pools[kind])).format(**values)


def _clauses(rng: np.random.Generator, html: bool) -> tuple[list[Word], list[int]]:
    """The words of 1-4 clauses on distinct concepts, and where noise may go (before each clause, at the end)."""
    speaker = "f" if rng.random() < 0.5 else "m"
    wanted = int(rng.choice([1, 2, 3, 4], p=[0.15, 0.35, 0.35, 0.15]))
    used: set[str] = set()
    chosen: list[str] = []
    for index in rng.permutation(len(TEMPLATES)):
        concepts = concepts_of(TEMPLATES[index])
        if not concepts & used and len(chosen) < wanted:
            chosen.append(TEMPLATES[index])
            used |= concepts
    words: list[Word] = []
    slots = []
    for i, template in enumerate(chosen):
        if i:
            sep = str(rng.choice([",", ".", "!", "et", "mais", "<br>" if html else "mais"]))
            if sep in ",.!":
                words[-1].glue = True
            words.append(Word(sep, noise="html" if sep == "<br>" else ""))
        slots.append(len(words))
        words += clause(rng, template, speaker)
    return words, [*slots, len(words)]


def _restyle(rng: np.random.Generator, words: list[Word]) -> None:
    """Whole-review habits: shouting, typing without accents, capitals after a full stop."""
    roll = rng.random()
    for w in words:
        if not w.noise and roll < 0.05:
            w.text = w.text.upper()
        elif not w.noise and roll < 0.13:
            w.text = "".join(
                ch for ch in unicodedata.normalize("NFD", w.text) if not unicodedata.combining(ch)
            )
    start = True
    for w in words:
        if start and not w.noise and w.text[:1].isalpha():
            w.text = w.text[:1].upper() + w.text[1:]
            start = False
        start = start or w.text.endswith((".", "!", "?"))


def _add_noise(rng: np.random.Generator, words: list[Word], slots: list[int], html: bool) -> list[Word]:
    inserts: list[tuple[int, Word]] = []
    for kind, rate in NOISE_RATES.items():
        if rng.random() < rate:
            inserts.append((int(rng.choice(slots)), Word(_noise_text(rng, kind), noise=kind)))
    for _ in range(int(rng.integers(1, 4)) if rng.random() < 0.3 else 0):
        inserts.append((int(rng.choice(slots[1:])), Word(str(rng.choice(lx.EMOJIS)), noise="emoji")))
    for at, word in sorted(inserts, key=lambda x: -x[0]):
        if at and rng.random() < 0.5 and word.noise == "emoji":
            words[at - 1].glue = True
        words.insert(at, word)
    if rng.random() < 0.7:
        mark = str(rng.choice(lx.PUNCTUATION))
        words[-1].glue = not mark.startswith((":", ";", " "))
        words.append(Word(mark.strip()))
    if html:
        entities = rng.random() < 0.5
        marked: list[Word] = []
        for w in words:
            if entities and not w.noise:
                w.text = "".join(lx.HTML_ENTITIES.get(ch, ch) for ch in w.text)
            marked.append(w)
            if not (w.noise or w.glue) and rng.random() < 0.05:
                marked.append(Word(str(rng.choice(lx.HTML_INLINE)), noise="html"))
        opening, closing = lx.HTML_WRAPPERS[int(rng.integers(len(lx.HTML_WRAPPERS)))]
        marked[-1].glue = True
        words = [Word(opening, noise="html", glue=True), *marked, Word(closing, noise="html")]
    return words


def describe(words: list[Word]) -> dict[str, Any]:
    """Ground truth of one review: its concept occurrences and its non-informative elements."""
    occurrences = []
    for w in words:
        if w.concept and w.lexeme is not None:
            kind = "synonym" if w.lexeme.synonym else "lemma" if w.text == w.lexeme.lemma else "variant"
            occurrences.append({"concept": w.concept, "kind": kind, "surface": w.text})
    elements = [(w.noise, w.text) for w in words if w.noise]
    elements += [("html", e) for w in words if not w.noise for e in _ENTITY.findall(w.text)]
    noise = [{"kind": k, "text": t, "pieces": element_pieces(t)} for k, t in elements]
    return {"occurrences": occurrences, "noise": [n for n in noise if n["pieces"]]}


def review(rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    html = rng.random() < 0.3
    words, slots = _clauses(rng, html)
    _restyle(rng, words)
    words = _add_noise(rng, words, slots, html)
    text = "".join(w.text + ("" if w.glue else " ") for w in words).strip()
    return text, describe(words)
