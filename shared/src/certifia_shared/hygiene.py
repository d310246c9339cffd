"""Text and dates from clients, made safe at the edge: pydantic types for request models.

Every string is normalised to NFC and trimmed; what a reader cannot see or that rewrites a terminal or a
line is refused, naming the character and its position, so a 422 says which field and why:

- C0 and C1 control characters and DEL (free text keeps tab and line feed; CR and CRLF become LF),
- ANSI escape sequences (ESC, CSI),
- bidirectional overrides, embeddings, isolates and marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
  U+061C): in every kind of text, as they reorder what the reader sees (a diploma, a comment),
- zero-width and other invisible format characters (Unicode category Cf, e.g. U+200B, U+2060, U+FEFF,
  U+00AD), line and paragraph separators, private-use, unassigned and surrogate code points (free text
  keeps U+200C/U+200D, which some scripts and emoji need),
- values that are only whitespace.

Use: ``name: PersonName``, ``external_id: Identifier``, ``company: ShortText``, ``comment: FreeText = ""``
(other bounds: ``Annotated[str, free_text(5000)]``), ``start_date: PlausibleDate``,
``scheduled_at: PlausibleDateTime``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

Kind = Literal["name", "identifier", "line", "free"]

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# look blank but are letters or symbols: a value made of them is as empty as spaces
BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
FREE_TEXT_JOINERS = frozenset("\u200c\u200d")  # ZWNJ and ZWJ: Persian, Indic scripts, emoji sequences
_CONTROL_NAMES = {
    "\x00": "NUL",
    "\t": "TAB",
    "\n": "LF",
    "\r": "CR",
    "\x1b": "ESC",
    "\x7f": "DEL",
}
_KIND_WORDS = {
    "name": "a name",
    "identifier": "an identifier",
    "line": "a one-line text",
    "free": "a text",
}


def _describe(ch: str) -> str:
    name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}".rstrip()


def _refuse(code: str, message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(code, message, context)


def _why_refused(ch: str, kind: Kind) -> tuple[str, str] | None:
    """(error code, reason) when ``ch`` may not appear in this kind of text; None when it may."""
    if ch in "\x1b\x9b":
        return "text_ansi_escape", "an ANSI escape sequence"
    if ch in BIDI_CONTROLS:
        return "text_bidi_control", "a bidirectional control character (it reorders what is displayed)"
    category = unicodedata.category(ch)
    if category == "Cc":
        if kind == "free" and ch in "\t\n":
            return None
        if ch in "\r\n" or ch == "\t":
            return "text_line_break", "a line break or tab (only one line is accepted here)"
        return "text_control_character", "a control character"
    if category == "Cf" and not (kind == "free" and ch in FREE_TEXT_JOINERS):
        return "text_invisible_character", "an invisible formatting character"
    if category in {"Zl", "Zp"}:
        return "text_line_break", "a line or paragraph separator"
    if category == "Cs":
        return "text_surrogate", "a lone surrogate (not a character)"
    if category in {"Co", "Cn"} and kind != "free":
        return "text_unassigned_character", "a private-use or unassigned code point"
    if ch in BLANK_LOOKING and kind != "free":
        return "text_invisible_character", "a blank-looking filler character"
    if kind == "identifier" and (category == "Zs" or not ch.isascii() or not ch.isprintable()):
        return "text_identifier_character", "a space or a character outside printable ASCII"
    return None


def _check_characters(value: str, kind: Kind, offset: int) -> None:
    for position, ch in enumerate(value, start=offset + 1):
        refused = _why_refused(ch, kind)
        if refused:
            code, reason = refused
            raise _refuse(
                code,
                "contains {reason}: {character} at position {position}",
                reason=reason,
                character=_describe(ch),
                position=position,
            )


def _is_blank(ch: str) -> bool:
    """What trimming removes: spaces, tabs and line breaks (other controls stay, to be refused)."""
    return ch in " \t\n\r" or ch in BLANK_LOOKING or unicodedata.category(ch) == "Zs"


def _trimmed(text: str) -> tuple[int, int]:
    """Where ``text`` starts and ends once trimmed."""
    start, end = 0, len(text)
    while start < end and _is_blank(text[start]):
        start += 1
    while end > start and _is_blank(text[end - 1]):
        end -= 1
    return start, end


def _too_long(max_length: int, length: int) -> PydanticCustomError:
    return _refuse(
        "text_too_long",
        "must be at most {max_length} characters (got {length})",
        max_length=max_length,
        length=length,
    )


def clean_text(value: str, *, kind: Kind, min_length: int, max_length: int) -> str:
    """``value`` in NFC, trimmed, checked; raises ``PydanticCustomError`` naming what is wrong."""
    if len(value) > 4 * max_length + 256:  # not worth normalising: no trimming or NFC brings it in bounds
        raise _too_long(max_length, len(value))
    text = unicodedata.normalize("NFC", value)
    if kind == "free":
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    start, end = _trimmed(text)
    trimmed = text[start:end]
    _check_characters(trimmed, kind, offset=start)
    if kind in {"name", "line"}:  # NBSP and the other spaces read as a space
        trimmed = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in trimmed)
    if not trimmed and text and min_length > 0:
        raise _refuse("text_blank", "is blank: only whitespace was sent")
    if len(trimmed) < min_length:
        raise _refuse(
            "text_too_short",
            "must be at least {min_length} characters (got {length})",
            min_length=min_length,
            length=len(trimmed),
        )
    if len(trimmed) > max_length:
        raise _too_long(max_length, len(trimmed))
    return trimmed


@dataclass(frozen=True)
class CleanText:
    """Annotated metadata: ``Annotated[str, CleanText("name", 1, 100)]`` validates with :func:`clean_text`
    and documents the bounds in the JSON schema."""

    kind: Kind
    min_length: int
    max_length: int

    def validate(self, value: str) -> str:
        return clean_text(value, kind=self.kind, min_length=self.min_length, max_length=self.max_length)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(minLength=self.min_length, maxLength=self.max_length)
        if self.kind == "identifier":
            json_schema["pattern"] = r"^[!-~]+$"
        json_schema.setdefault(
            "description", f"{_KIND_WORDS[self.kind]} (NFC, trimmed, no control characters)"
        )
        return json_schema


PersonName = Annotated[str, CleanText("name", 1, 100)]
"""A person's name (candidate, jury member, tutor): one line, 1-100 characters, spaces inside."""
Identifier = Annotated[str, CleanText("identifier", 1, 200)]
"""An external or client id: 1-200 printable ASCII characters, no spaces."""
ShortText = Annotated[str, CleanText("line", 1, 300)]
"""A title, a company, a location: one line, 1-300 characters."""
FreeText = Annotated[str, CleanText("free", 0, 4000)]
"""A comment: tabs and line feeds kept, up to 4000 characters (other bounds: :func:`free_text`)."""


def free_text(max_length: int, *, min_length: int = 0) -> CleanText:
    """Free text with its own bounds: ``grounds: Annotated[str, free_text(5000, min_length=10)]``."""
    return CleanText("free", min_length, max_length)


def one_line(max_length: int, *, min_length: int = 1) -> CleanText:
    """One line with other bounds than :data:`ShortText`: ``title: Annotated[str, one_line(200)]``."""
    return CleanText("line", min_length, max_length)


# -- dates -------------------------------------------------------------------------------------------------
EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
_ISO = {
    "date": (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "2027-01-15"),
    "datetime": (re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}"), "2027-01-15T14:00:00+01:00"),
}


@dataclass(frozen=True)
class Plausible:
    """Annotated metadata for a ``date`` or a ``datetime``: ISO 8601 only (a number, or a string of digits,
    is refused instead of being read as seconds since 1970), a datetime states its UTC offset, and the (UTC)
    day lies between ``earliest`` and ``latest``."""

    earliest: date = EARLIEST
    latest: date = LATEST

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        what: Literal["date", "datetime"] = "datetime" if source is datetime else "date"
        parsed = core_schema.no_info_before_validator_function(self._iso_only(what), handler(source))
        return core_schema.no_info_after_validator_function(self._check, parsed)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault(
            "description", f"ISO 8601, between {self.earliest.isoformat()} and {self.latest.isoformat()}"
        )
        return json_schema

    @staticmethod
    def _iso_only(what: Literal["date", "datetime"]) -> Any:
        pattern, example = _ISO[what]

        def check(value: Any) -> Any:
            if isinstance(value, bool | int | float):
                raise _refuse(
                    f"{what}_not_iso",
                    "must be an ISO 8601 {what} such as {example}, not a number",
                    what=what,
                    example=example,
                )
            if isinstance(value, str):
                value = value.strip()
                if not pattern.match(value):
                    raise _refuse(
                        f"{what}_not_iso",
                        "must be an ISO 8601 {what} such as {example}",
                        what=what,
                        example=example,
                    )
            return value

        return check

    def _check(self, value: date) -> date:
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise _refuse(
                    "datetime_without_offset", "must state its UTC offset, e.g. 2027-01-15T14:00:00+01:00"
                )
            day = value.astimezone(UTC).date()
        else:
            day = value
        if not self.earliest <= day <= self.latest:
            raise _refuse(
                "date_implausible",
                "must be between {earliest} and {latest} (got {day})",
                earliest=self.earliest.isoformat(),
                latest=self.latest.isoformat(),
                day=day.isoformat(),
            )
        return value


PlausibleDate = Annotated[date, Plausible()]
"""A date such as 2027-01-15, between 1900-01-01 and 2100-12-31 (other bounds: ``Plausible(a, b)``)."""
PlausibleDateTime = Annotated[datetime, Plausible()]
"""A date and time with its offset, such as 2027-01-15T14:00:00+01:00, between 1900 and 2100."""
