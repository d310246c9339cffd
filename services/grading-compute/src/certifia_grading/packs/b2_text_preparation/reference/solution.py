"""Reference for b2_text_preparation: markup and noise stripped, letter tokens, stop words removed,
a light French stemmer, then the synonym table mapped onto the stems (standard library only)."""

import html
import re
import unicodedata

NOISE = re.compile(
    r"<[^>]*>"  # HTML tags
    r"|(?:https?://|www\.)\S+"  # URLs
    r"|\S+@\S+"  # e-mail addresses
    r"|(?:\br[ée]f\.?|n°|#)\s*\S+"  # order references
    r"|\S*\d\S*",  # anything holding a digit: prices, dates, ratings, tracking numbers
    re.IGNORECASE,
)
WORDS = re.compile(r"[a-z]+")
REPEATS = re.compile(r"(.)\1{2,}")
UNITS = {"eur", "euro", "euros"}
# (suffix, replacement, shortest stem kept), first match wins: plurals, feminines, participles, adverbs.
SUFFIXES = (
    ("ements", "", 4), ("ement", "", 4), ("aux", "al", 3), ("ions", "ion", 3), ("ons", "", 8),
    ("ees", "", 3), ("ee", "", 3), ("es", "", 3), ("er", "", 3), ("e", "", 3), ("s", "", 3), ("x", "", 3),
)  # fmt: skip


def fold(text):
    text = unicodedata.normalize("NFKD", text.lower().replace("œ", "oe"))
    return REPEATS.sub(r"\1", "".join(ch for ch in text if not unicodedata.combining(ch)))


def stem(word):
    for suffix, replacement, shortest in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= shortest:
            word = word[: -len(suffix)] + replacement
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # nulle -> null -> nul: every form of a word meets on one stem
    return word


def prepare(reviews, stopwords, synonyms):
    stop = {fold(w) for w in stopwords} | UNITS
    canonical = {stem(fold(k)): stem(fold(v)) for k, v in synonyms.items()}
    out = []
    for review in reviews:
        text = NOISE.sub(" ", html.unescape(review))
        words = [w for w in WORDS.findall(fold(text)) if w not in stop and len(w) > 1]
        out.append([canonical.get(s, s) for s in map(stem, words)])
    return out
