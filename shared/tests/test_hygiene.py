"""Text and dates from clients: NFC, trimmed, no controls or invisible characters, plausible dates."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from certifia_shared.hygiene import (
    FreeText,
    Identifier,
    PersonName,
    Plausible,
    PlausibleDate,
    PlausibleDateTime,
    ShortText,
    free_text,
    one_line,
)


class Enrolment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: PersonName = "Ada"
    external_id: Identifier = "lms-42"
    company: ShortText = "ACME"
    comment: FreeText = ""
    grounds: Annotated[str, free_text(50, min_length=5)] = "grounds"
    title: Annotated[str, one_line(10)] = "title"
    start_date: PlausibleDate = date(2026, 9, 1)
    scheduled_at: PlausibleDateTime | None = None
    since: Annotated[date, Plausible(date(2000, 1, 1), date(2030, 12, 31))] = date(2020, 1, 1)


def refusal(payload: dict[str, Any]) -> dict[str, Any]:
    """The one error of a refused payload, as a 422 would list it."""
    with pytest.raises(ValidationError) as err:
        Enrolment.model_validate_json(json.dumps(payload))
    errors = err.value.errors()
    assert len(errors) == 1, errors
    return dict(errors[0])


ATTACKS = {
    "\x00": ("text_control_character", "U+0000 NUL"),
    "\x1b[31mred": ("text_ansi_escape", "U+001B ESC"),
    "a\r\nb": ("text_line_break", "U+000D CR"),
    "a\nb": ("text_line_break", "U+000A LF"),
    "a\tb": ("text_line_break", "U+0009 TAB"),
    "\u202egnp.exe": ("text_bidi_control", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    "a\u2066b": ("text_bidi_control", "U+2066"),
    "a\u200fb": ("text_bidi_control", "U+200F"),
    "a\u061cb": ("text_bidi_control", "U+061C"),
    "a\u200bb": ("text_invisible_character", "U+200B ZERO WIDTH SPACE"),
    "a\ufeffb": ("text_invisible_character", "U+FEFF"),
    "a\u00adb": ("text_invisible_character", "U+00AD SOFT HYPHEN"),
    "a\u2028b": ("text_line_break", "U+2028"),
    "a\x7fb": ("text_control_character", "U+007F DEL"),
    "a\x85b": ("text_control_character", "U+0085"),
    "a\x9b31m": ("text_ansi_escape", "U+009B"),
    "a\ue000b": ("text_unassigned_character", "U+E000"),
    "a\u3164b": ("text_invisible_character", "U+3164 HANGUL FILLER"),
}


@pytest.mark.parametrize("field", ["name", "external_id", "company", "title"])
@pytest.mark.parametrize("value", list(ATTACKS))
def test_one_line_fields_refuse_controls_and_invisible_characters(field: str, value: str) -> None:
    error = refusal({field: value})
    code, character = ATTACKS[value]
    assert error["loc"] == (field,)
    assert error["type"] == code
    assert character in error["msg"] and "position" in error["msg"]


def test_the_message_names_the_character_and_where_it_is() -> None:
    error = refusal({"name": "  Jean\x00Dupont"})
    assert error["msg"] == "contains a control character: U+0000 NUL at position 7"


def test_whitespace_only_is_blank_not_a_name() -> None:
    for blank in ("   ", "\t \n", "\u00a0\u3000", "\u3164"):
        error = refusal({"name": blank})
        assert (error["loc"], error["type"]) == (("name",), "text_blank")
    assert refusal({"company": ""})["type"] == "text_too_short"


def test_text_is_nfc_trimmed_and_spaces_read_as_spaces() -> None:
    e = Enrolment(name="  Ame\u0301lie\u00a0Poulain \n", company="Cafe\u0301 des 2 Moulins")
    assert e.name == "Amélie Poulain"
    assert e.name == "Am\u00e9lie Poulain"  # one code point for é, NBSP now a space
    assert e.company == "Café des 2 Moulins"
    assert Enrolment(name="e\u0301").name == "é"


def test_lengths_are_counted_after_nfc_and_trimming() -> None:
    assert Enrolment(name=" " * 50 + "a" * 100 + " " * 50).name == "a" * 100
    assert Enrolment(name="e\u0301" * 100).name == "é" * 100
    error = refusal({"name": "a" * 101})
    assert (error["type"], error["msg"]) == ("text_too_long", "must be at most 100 characters (got 101)")
    assert refusal({"company": "x" * 301})["type"] == "text_too_long"
    assert refusal({"title": "x" * 11})["type"] == "text_too_long"
    assert refusal({"external_id": "x" * 201})["type"] == "text_too_long"
    assert refusal({"name": "a" * 100_000})["type"] == "text_too_long"  # refused before normalising


def test_identifiers_are_printable_ascii_without_spaces() -> None:
    assert Enrolment(external_id="  moodle:42/abc-DEF_1  ").external_id == "moodle:42/abc-DEF_1"
    for bad in ("a b", "caf\u00e9", "\u0430dmin", "a\u00a0b"):  # space, é, Cyrillic а, NBSP
        assert refusal({"external_id": bad})["type"] == "text_identifier_character"


def test_free_text_keeps_tabs_and_line_feeds_and_refuses_the_rest() -> None:
    e = Enrolment(comment="  First line\r\n\tindented\rthird\n\n", grounds="ok: 👩\u200d💻 \u200cfine")
    assert e.comment == "First line\n\tindented\nthird"
    assert "\u200d" in e.grounds and "\u200c" in e.grounds
    for bad, code in (
        ("a\x00b", "text_control_character"),
        ("\x1b[2J", "text_ansi_escape"),
        ("see \u202etxt.exe", "text_bidi_control"),
        ("a\u200bb", "text_invisible_character"),
        ("a\u2029b", "text_line_break"),
        ("a\x0bb", "text_control_character"),
    ):
        error = refusal({"comment": bad})
        assert (error["loc"], error["type"]) == (("comment",), code)


def test_free_text_bounds_and_blank_values() -> None:
    assert Enrolment(comment="   ").comment == ""  # may be empty, so blank is empty
    assert refusal({"grounds": "     "})["type"] == "text_blank"
    assert refusal({"grounds": "abc"})["msg"] == "must be at least 5 characters (got 3)"
    assert refusal({"grounds": "x" * 51})["type"] == "text_too_long"
    assert refusal({"comment": "x" * 4001})["type"] == "text_too_long"


def test_a_number_is_not_a_string() -> None:
    assert refusal({"name": 42})["type"] == "string_type"


def test_a_mission_start_date_of_zero_is_refused_not_read_as_1970() -> None:
    for value in (0, "0", 1700000000, "1700000000", 1.5):
        error = refusal({"start_date": value})
        assert (error["loc"], error["type"]) == (("start_date",), "date_not_iso")
        assert "2027-01-15" in error["msg"]
    assert "not a number" in refusal({"start_date": 0})["msg"]


def test_dates_are_iso_and_plausible() -> None:
    assert Enrolment.model_validate_json('{"start_date": " 2026-09-01 "}').start_date == date(2026, 9, 1)
    assert refusal({"start_date": "01/09/2026"})["type"] == "date_not_iso"
    for far in ("1899-12-31", "2101-01-01", "0001-01-01", "9999-12-31"):
        error = refusal({"start_date": far})
        assert error["type"] == "date_implausible"
        assert "between 1900-01-01 and 2100-12-31" in error["msg"] and far in error["msg"]
    assert (
        refusal({"since": "1999-12-31"})["msg"]
        == "must be between 2000-01-01 and 2030-12-31 (got 1999-12-31)"
    )
    assert refusal({"start_date": "2026-02-30"})["loc"] == ("start_date",)  # not a day: pydantic says so


def test_datetimes_state_their_offset_and_are_plausible() -> None:
    e = Enrolment.model_validate_json('{"scheduled_at": "2027-01-15T14:00:00+01:00"}')
    assert e.scheduled_at == datetime.fromisoformat("2027-01-15T13:00:00+00:00")
    assert refusal({"scheduled_at": 0})["type"] == "datetime_not_iso"
    assert refusal({"scheduled_at": "1700000000"})["type"] == "datetime_not_iso"
    assert refusal({"scheduled_at": "2027-01-15"})["type"] == "datetime_not_iso"
    assert refusal({"scheduled_at": "2027-01-15T14:00:00"})["type"] == "datetime_without_offset"
    assert refusal({"scheduled_at": "2150-01-15T14:00:00Z"})["type"] == "date_implausible"


def test_the_json_schema_documents_the_bounds() -> None:
    properties = Enrolment.model_json_schema()["properties"]
    assert (properties["name"]["minLength"], properties["name"]["maxLength"]) == (1, 100)
    assert properties["external_id"]["pattern"] == "^[!-~]+$"
    assert properties["comment"]["maxLength"] == 4000
    assert properties["grounds"]["minLength"] == 5
    assert properties["start_date"]["format"] == "date"
    assert "1900-01-01" in properties["start_date"]["description"]
