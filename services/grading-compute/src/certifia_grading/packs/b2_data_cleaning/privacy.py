"""Personal data left in a cleaned table, in whatever form it was left (2.A1.C1.E1).

A value is compared after folding: compatibility forms (full-width letters and ``＠``), accents and case
removed, the usual e-mail obfuscations undone (``x @ y``, ``x [at] y``, ``x (at) y``, ``x at y``,
``%40``, ``(dot)``, ``[dot]``, `` dot ``), separators ignored. A person's data has leaked when:

- a cell or a column header holds the person's first and last name side by side (either order, any
  separator or none: ``Camille Martin``, ``MARTIN_camille``, ``camille.martin@...``);
- the person's row holds the first and the last name as words, in any of its cells (a name split
  over two columns);
- a cell holds the person's e-mail address, or the person's phone number with any separators, with or
  without the ``+33``/``0033``/``0`` prefix, as text or as a number.

Pseudonyms (a salted hash, a code) and removed columns leak nothing. The count is per person and kind
(name, e-mail, phone). Linear in the table's cells: distinct values are folded once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

_OPEN, _CLOSE = r"[\[\(\{<]", r"[\]\)\}>]"
_AT = re.compile(rf"\s*(?:{_OPEN}\s*(?:at|arobase)\s*{_CLOSE}|\b(?:at|arobase)\b|%40|&#0*64;|&commat;|@)\s*")
_DOT = re.compile(rf"\s*(?:{_OPEN}\s*(?:dot|point)\s*{_CLOSE}|\b(?:dot|point)\b|%2e|&#0*46;|\.)\s*")
_EMAIL = re.compile(r"[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/_]+")
_DIGIT_RUN = re.compile(r"\d+")


def fold(text: str) -> str:
    """Compatibility forms, accents and case removed; e-mail obfuscations undone."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return _DOT.sub(".", _AT.sub("@", text))


def squash(text: str) -> str:
    return _NOT_ALNUM.sub("", text)


def national_number(digits: str) -> str | None:
    """The 9 significant digits of a French number written 0XXXXXXXXX, 33XXXXXXXXX, 0033... or bare."""
    for prefix, length in (("0033", 13), ("33", 11), ("0", 10), ("", 9)):
        if digits.startswith(prefix) and len(digits) == length:
            return digits[len(prefix) :]
    return None


class PersonalData:
    """The people of the hidden table, row by row, in folded forms."""

    def __init__(self, names: Iterable[str], emails: Iterable[str], phones: Iterable[str]) -> None:
        parts = [fold(str(name)).split() for name in names]
        self.first = [squash(p[0]) if p else "" for p in parts]
        self.last = [squash(p[-1]) if p else "" for p in parts]
        self.emails = [fold(str(e)).replace(" ", "") for e in emails]
        self.phones = [national_number("".join(_DIGIT_RUN.findall(str(p)))) or "" for p in phones]
        self._firsts_by_last: dict[str, set[str]] = {}
        for first, last in zip(self.first, self.last, strict=True):
            self._firsts_by_last.setdefault(last, set()).add(first)

    def names_in(self, text: str) -> set[tuple[str, str]]:
        """The (first, last) pairs written side by side in one folded text."""
        joined = squash(text)
        found = set()
        for last, firsts in self._firsts_by_last.items():
            if last and last in joined:
                found |= {(f, last) for f in firsts if f and (f + last in joined or last + f in joined)}
        return found

    def leaks(self, cleaned: pd.DataFrame) -> int:
        texts = _text_cells(cleaned)
        folded = {t: fold(t) for t in texts}
        names: set[tuple[str, str]] = set()
        emails: set[str] = set()
        phones: set[str] = set()
        for text in folded.values():
            names |= self.names_in(text)
            emails.update(_EMAIL.findall(text.replace(" ", "")))
            for run in _DIGIT_RUN.findall(_PHONE_SEPARATORS.sub("", text).replace("+", "")):
                phones.add(national_number(run) or "")
        phones |= _numbers_as_phones(cleaned)
        by_row = self._names_by_row(cleaned, folded)
        count = 0
        for i, (first, last) in enumerate(zip(self.first, self.last, strict=True)):
            count += int((first, last) in names or i in by_row)
            count += int(self.emails[i] in emails)
            count += int(bool(self.phones[i]) and self.phones[i] in phones)
        return count

    def _names_by_row(self, cleaned: pd.DataFrame, folded: dict[str, str]) -> set[int]:
        """Rows whose own cells hold their person's first and last names as words (split columns)."""
        if len(cleaned) != len(self.first):
            return set()
        words: list[set[str]] = [set() for _ in range(len(cleaned))]
        for column in cleaned.columns:
            values = cleaned[column]
            if is_numeric_dtype(values):
                continue
            for i, value in enumerate(values.tolist()):
                if isinstance(value, str):
                    words[i].update(_NOT_ALNUM.split(folded.get(value) or fold(value)))
        return {i for i, w in enumerate(words) if self.first[i] in w and self.last[i] in w}


def _text_cells(cleaned: pd.DataFrame) -> set[str]:
    texts = {str(c) for c in cleaned.columns}
    for column in cleaned.columns:
        values = cleaned[column]
        if not is_numeric_dtype(values):
            texts.update(v for v in pd.unique(values.dropna()) if isinstance(v, str))
    return texts


def _numbers_as_phones(cleaned: pd.DataFrame) -> set[str]:
    """A phone number stored as a number (its leading 0 lost): integral values of 9 to 13 digits."""
    found: set[str] = set()
    for column in cleaned.columns:
        values = cleaned[column]
        if not is_numeric_dtype(values) or is_bool_dtype(values):
            continue
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        x = x[np.isfinite(x) & (x >= 1e8) & (x < 1e13)]
        x = x[x == np.round(x)]
        found.update(national_number(str(int(v))) or "" for v in np.unique(x))
    return found
