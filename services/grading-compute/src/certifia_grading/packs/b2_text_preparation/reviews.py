"""Deterministic French e-commerce reviews with known ground truth.

A review (see corpus.py) is a few clauses drawn from these templates, whose slots are content concepts;
a slot is realised by a lexeme of the concept (the canonical family or a synonym of
the public table) in the inflected form the grammar asks for, sometimes shouted, misspelt without
accents or with a letter typed many times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from certifia_grading.packs.b2_text_preparation import lexicon as lx
from certifia_grading.packs.b2_text_preparation.text import fold

TEMPLATES = (
    "{le} {N:LIVRAISON} {a_ete} {tres}{A:RAPIDE}",
    "{le} {N:LIVRAISON} {est} {tres}{A:LENT}",
    "{N:LIVRAISON} effectuée {V:RAPIDE}",
    "{le} {N:COLIS} {est} {A:RECU} {A:CASSE}",
    "{le} {N:COLIS} {est} {A:RECU} en bon état",
    "{le} {N:COMMANDE} {est} {A:RECU} {V:RAPIDE}",
    "{le} {N:PRODUIT} {est} {tres}{A:CONFORME} à la description",
    "{le} {N:PRODUIT} {nest} pas {A:CONFORME}",
    "{le} {N:PRODUIT} {est} {A:CASSE}",
    "{le} {N:QUALITE} {est} {tres}{A:EXCELLENT}",
    "{le} {N:QUALITE} {est} {A:NUL}",
    "{N:PRIX} {tres}{A:CHER} pour {le} {N:QUALITE}",
    "{le} {N:PRIX} {est} {tres}{A:CHER}",
    "je suis {tres}{S:SATISFAIT} de mon achat",
    "je suis {S:DECU} par {le} {N:PRODUIT}",
    "{le} {N:SERVICE} client {est} {tres}{A:EXCELLENT}",
    "{le} {N:SERVICE} client {est} {A:NUL}",
    "j'attends toujours {le} {N:REMBOURSEMENT}",
    "j'ai été {S:REMBOURSEMENT} {V:RAPIDE}",
    "{un} {N:PROBLEME} avec {le} {N:COMMANDE}",
    "{le} {N:EMBALLAGE} {est} {A:CASSE}",
    "{le} {N:TAILLE} {est} {A:CONFORME}",
    "je {J:RECOMMANDER} ce vendeur",
    "nous {W:RECOMMANDER} {le} {N:PRODUIT}",
    "{le} {N:PRODUIT} {est} {A:RECOMMANDER}",
    "{le} {N:DELAI} pour {le} {N:LIVRAISON} {est} {tres}{A:LENT}",
    "{le} {N:RETOUR} {est} {tres}{A:FACILE}",
    "{le} {N:RETOUR} {est} {A:COMPLIQUE}",
    "{N:RETOUR} {V:FACILE} sur le site",
    "{M:EXCELLENT}",
    "{M:NUL}",
    "rien à dire, {le} {N:SERVICE} {est} {A:RAPIDE}",
    "{le} {N:EMBALLAGE} {est} {tres}{A:EXCELLENT}",
)
_SLOT = re.compile(r"\{[^}]+\}|[^\s{}]+")
_CONCEPT = re.compile(r"\{[A-Z]:([A-Z]+)\}")
_VOWELS = "aeiouyéè"
_VERBS = {  # singular, plural
    "{est}": (("est",), ("sont",)),
    "{a_ete}": (("a", "été"), ("ont", "été")),
    "{nest}": (("n'est",), ("ne", "sont")),
}


@dataclass
class Word:
    text: str
    concept: str = ""
    lexeme: lx.Lexeme | None = None
    noise: str = ""  # the kind of non-informative element
    glue: bool = False  # no space after it


def _form(lexeme: lx.Lexeme, kind: str, agree: str) -> str:
    if kind == "N":
        return lexeme.nouns.get(agree[1], "")
    if kind == "V":
        return lexeme.adverb
    if kind in "JW":
        return lexeme.verbs.get("je" if kind == "J" else "nous", "")
    return lexeme.adjectives.get("ms" if kind == "M" else agree, "")


def _pick(rng: np.random.Generator, concept: str, kind: str, agree: str) -> tuple[lx.Lexeme, str]:
    usable = [lex for lex in lx.CONCEPTS[concept] if _form(lex, kind, agree)]
    family = [lex for lex in usable if not lex.synonym]
    synonyms = [lex for lex in usable if lex.synonym]
    pool = synonyms if synonyms and (not family or rng.random() < 0.4) else family
    lexeme = pool[int(rng.integers(len(pool)))]
    return lexeme, _form(lexeme, kind, agree)


def _styled(rng: np.random.Generator, form: str, kind: str) -> str:
    """Slot-level variants a normalisation must absorb (shouting, missing accents, repeated letters)."""
    roll = rng.random()
    if kind in "ASM" and roll < 0.07:
        return form.upper()
    if roll < 0.13:
        return fold(form)
    if kind in "ASM" and roll < 0.19:
        last = max(i for i, ch in enumerate(form) if ch in _VOWELS)
        return form[: last + 1] + form[last] * int(rng.integers(2, 4)) + form[last + 1 :]
    return form


def _det(word: str, gender_number: str, definite: bool) -> Word:
    if gender_number[1] == "p":
        return Word("les" if definite else "des")
    if definite and fold(word)[0] in "aeiouh":
        return Word("l'", glue=True)
    if definite:
        return Word("la" if gender_number[0] == "f" else "le")
    return Word("une" if gender_number[0] == "f" else "un")


def clause(rng: np.random.Generator, template: str, speaker: str) -> list[Word]:
    items = _SLOT.findall(template)
    nouns: dict[int, tuple[lx.Lexeme, str, str]] = {}
    for i, item in enumerate(items):
        if item.startswith("{N:"):
            number = "p" if rng.random() < 0.25 else "s"
            lexeme, form = _pick(rng, item[3:-1], "N", "xp" if number == "p" else "xs")
            nouns[i] = (lexeme, lexeme.gender + number, form)
    head = nouns[min(nouns)][1] if nouns else speaker + "s"
    words: list[Word] = []
    for i, item in enumerate(items):
        if item in ("{le}", "{un}"):
            _lex, agree, form = nouns[min(j for j in nouns if j > i)]
            words.append(_det(form, agree, item == "{le}"))
        elif item in _VERBS:
            words += [Word(w) for w in _VERBS[item][head[1] == "p"]]
        elif item == "{tres}":
            roll = rng.random()
            extra = "très" if roll < 0.2 else "trop" if roll < 0.27 else "vraiment" if roll < 0.35 else ""
            extra = "trooop" if extra == "trop" and rng.random() < 0.3 else extra
            words += [Word(extra)] if extra else []
        elif item.startswith("{"):
            words += _slot(rng, item, nouns.get(i), head, speaker)
        else:
            words.append(Word(item))
    return words


def _slot(
    rng: np.random.Generator, item: str, noun: tuple[lx.Lexeme, str, str] | None, head: str, speaker: str
) -> list[Word]:
    kind, concept = item[1], item[3:-1]
    if noun is not None:
        lexeme, _agree, form = noun
    else:
        agree = speaker + "s" if kind == "S" else head
        lexeme, form = _pick(rng, concept, kind, agree)
    return [Word(_styled(rng, form, kind), concept=concept, lexeme=lexeme)]


def concepts_of(template: str) -> set[str]:
    return set(_CONCEPT.findall(template))
