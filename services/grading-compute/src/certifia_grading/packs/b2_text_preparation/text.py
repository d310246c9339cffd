"""String helpers shared by the review generator and the trusted scorer.

The scorer never asks the candidate which normalisation it chose: it relates a candidate token to a
known surface form by spelling (``related``), so a stem ("livr"), a lemma ("livrer") and the form itself
("livraisons") all count as that form, while a token that merely shares a few letters does not.
"""

from __future__ import annotations

import re
import unicodedata

_REPEATS = re.compile(r"(.)\1{2,}")
_PIECES = re.compile(r"[^\W\d_]+|\d+")
_LETTERS = re.compile(r"[^\W\d_]+")


def fold(text: str) -> str:
    """Lowercase, no accents (œ -> oe), letters typed three times or more kept once ("nuuul" -> "nul")."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return _REPEATS.sub(r"\1", text)


def letter_pieces(token: str) -> list[str]:
    """The runs of letters of a token, folded: "L'article," -> ["l", "article"]."""
    return _LETTERS.findall(fold(token))


def pieces(token: str) -> list[str]:
    """Letter runs, digit runs and symbol characters (emojis, €, ★, °) of a token, folded."""
    folded = fold(token)
    symbols = [ch for ch in folded if unicodedata.category(ch).startswith("S")]
    return _PIECES.findall(folded) + symbols


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def related(piece: str, form: str) -> bool:
    """Whether a folded token piece is a spelling of the folded form: itself, a stem of it (a prefix
    covering all but its last two letters, at least 4 letters when the form is longer) or a sibling
    (lemma, derived word) that differs only after a common prefix of 4 letters or more."""
    if piece == form:
        return True
    if len(piece) < 3 or len(form) < 3:
        return False
    common = _common_prefix(piece, form)
    if common == len(piece):
        return common >= min(len(form) - 2, 4)
    return common >= 4 and common >= len(piece) - 2
