"""The referential data (contracts/referential/referential.yaml) against its source document, and the loader.

The source document (``shared/seeds/000_8e836ab474d49860.txt`` next to the checkout, HTML fragments in
French) is parsed here with regexes, independently of the YAML: the counts and codes per bloc, the
statements and the evaluations must all be found in it.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from certifia_shared.config import repo_root
from certifia_shared.referential import (
    Referential,
    ReferentialError,
    ReferentialLookupError,
    default_referential_path,
    load_referential,
)

REPO = repo_root()
SOURCE_NAME = "000_8e836ab474d49860.txt"
BLOC_CODES = ("1", "2", "3", "4", "5A", "5B")
# Where each bloc's section starts in the source (the first line of its table); a section ends where the
# next one starts. Headings of bloc 2 and 5B repeat on later pages: the first occurrence counts.
BLOC_STARTS = (
    ("1", r"^BLOC 1:"),
    ("2", r"^BLOC 2 :"),
    ("3", r"^BLOC 3 :"),
    ("4", r"^BLOC 4 :"),
    ("5A", r"^BLOC 5A \(IA\)"),
    ("5B", r"^BLOC 5B \(MLOps\)"),
)
# What the source contains (competencies, criteria, evaluations per bloc), established by reading it.
# The tests below recompute these numbers from the document; this table only guards against the
# document and the data drifting together.
KNOWN_COUNTS = {
    "1": (17, 18, 4),
    "2": (27, 41, 9),
    "3": (9, 11, 3),
    "4": (7, 14, 3),
    "5A": (25, 50, 12),
    "5B": (18, 27, 10),
}

# A competency is defined as "A4-C7) statement"; a criterion as "A4-C7-E4) statement", or over a range
# "A4-C1 à C3-E1) ...", sometimes with stray spaces ("A5-C4- E4", "A5-C1 -E1", "A4- C1").
COMPETENCY_DEF = re.compile(r"\b(A\d+) ?- ?(C\d+) ?\)")
CRITERION_REF = re.compile(r"\b(A\d+) ?- ?(C\d+)(?: ?à ?(C\d+))? ?- ?(E\d+)")
EVALUATION_MARK = re.compile(r"\[(Comp[ée]tences? [^\]]*)\]")
BLOCK_TAG = re.compile(r"</?(?:p|br|div|li|ul|ol|tr|td|th|table|h\d)\b[^>]*>", re.IGNORECASE)


# -- the source document -------------------------------------------------------------------------------
def _source_path() -> Path | None:
    env = os.environ.get("CERTIFIA_REFERENTIAL_SOURCE")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "seeds" / SOURCE_NAME, REPO / "shared" / "seeds" / SOURCE_NAME]
    return next((p for p in candidates if p.is_file()), None)


def normalise(text: str) -> str:
    """Text without HTML (block tags become spaces, inline tags such as <u>v</u>érification vanish),
    entities decoded, whitespace collapsed."""
    text = BLOCK_TAG.sub(" ", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def source() -> str:
    path = _source_path()
    if path is None:
        pytest.skip(
            f"source document {SOURCE_NAME} not found (set CERTIFIA_REFERENTIAL_SOURCE to its path, "
            "or check out ../shared/seeds next to the repository)"
        )
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sections(source: str) -> dict[str, str]:
    """Raw text of each bloc's section of the source."""
    lines = source.splitlines()
    starts = []
    for code, pattern in BLOC_STARTS:
        index = next((i for i, line in enumerate(lines) if re.match(pattern, line)), None)
        assert index is not None, f"bloc {code}: heading /{pattern}/ not found in the source"
        starts.append((code, index))
    assert [i for _, i in starts] == sorted(i for _, i in starts), "bloc sections out of order"
    out = {}
    for k, (code, start) in enumerate(starts):
        end = starts[k + 1][1] if k + 1 < len(starts) else len(lines)
        out[code] = "\n".join(lines[start:end])
    return out


def source_competency_codes(section: str) -> list[str]:
    return [f"{a}-{c}" for a, c in COMPETENCY_DEF.findall(normalise(section))]


def source_criterion_codes(section: str) -> list[str]:
    return [
        f"{a}-{c}{f' à {last}' if last else ''}-{e}"
        for a, c, last, e in CRITERION_REF.findall(normalise(section))
    ]


@pytest.fixture(scope="module")
def ref() -> Referential:
    return load_referential()


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data = yaml.safe_load(default_referential_path().read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# -- counts and codes against the document -------------------------------------------------------------
def test_blocs_are_the_six_of_the_document(ref: Referential, sections: dict[str, str]) -> None:
    assert tuple(b.code for b in ref.blocs) == BLOC_CODES
    assert tuple(sections) == BLOC_CODES
    assert [b.kind for b in ref.blocs] == ["common"] * 4 + ["option"] * 2


@pytest.mark.parametrize("bloc", BLOC_CODES)
def test_counts_per_bloc_match_the_document(ref: Referential, sections: dict[str, str], bloc: str) -> None:
    section = sections[bloc]
    competencies = source_competency_codes(section)
    criteria = source_criterion_codes(section)
    evaluations = EVALUATION_MARK.findall(normalise(section))
    assert len(competencies) == len(set(competencies)), f"bloc {bloc}: a competency is defined twice"
    assert len(criteria) == len(set(criteria)), f"bloc {bloc}: a criterion appears twice"
    b = ref.bloc(bloc)
    assert (len(b.competencies), len(b.criteria), len(b.evaluations)) == (
        len(competencies),
        len(criteria),
        len(evaluations),
    )
    assert (len(competencies), len(criteria), len(evaluations)) == KNOWN_COUNTS[bloc]


@pytest.mark.parametrize("bloc", BLOC_CODES)
def test_codes_per_bloc_match_the_document(ref: Referential, sections: dict[str, str], bloc: str) -> None:
    b = ref.bloc(bloc)
    assert sorted(c.code for c in b.competencies) == sorted(source_competency_codes(sections[bloc]))
    assert sorted(c.code for c in b.criteria) == sorted(source_criterion_codes(sections[bloc]))


@pytest.mark.parametrize("bloc", BLOC_CODES)
def test_evaluations_are_those_of_the_document_in_order(
    ref: Referential, sections: dict[str, str], bloc: str
) -> None:
    marks = EVALUATION_MARK.findall(normalise(sections[bloc]))
    assert [e.competencies_as_written for e in ref.bloc(bloc).evaluations] == marks


def test_known_counts_are_the_current_data(ref: Referential) -> None:
    """Runs without the document too."""
    for b in ref.blocs:
        assert (len(b.competencies), len(b.criteria), len(b.evaluations)) == KNOWN_COUNTS[b.code], b.code
    assert len(ref.competencies) == 103
    assert len(ref.criteria) == 161


# -- statements: the source's wording ------------------------------------------------------------------
def _found(code: str, statement: str, section: str) -> bool:
    return f"{code}) {statement}" in section


def _found_split(code: str, statement: str, section: str) -> bool:
    """``code) first part`` and the rest both appear (a statement cut by a page break, rejoined)."""
    words = statement.split(" ")
    for cut in range(1, len(words)):
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        if f"{code}) {head}" in section and tail in section:
            return True
    return False


@pytest.mark.parametrize("kind", ["competencies", "criteria"])
def test_every_statement_is_the_source_wording(ref: Referential, sections: dict[str, str], kind: str) -> None:
    missing, undocumented = [], []
    for b in ref.blocs:
        section = normalise(sections[b.code])
        for item in getattr(b, kind):
            code = getattr(item, "code_as_written", None) or item.code
            statement = normalise(item.statement)
            if _found(code, statement, section):
                continue
            if _found_split(code, statement, section):
                if "page break" not in (item.source_note or ""):
                    undocumented.append(item.id)
                continue
            missing.append(f"{item.id}: {statement[:80]}")
    assert not missing, "statements not found in the source:\n" + "\n".join(missing)
    assert not undocumented, f"rejoined across a page break without a source_note: {undocumented}"


def test_evaluation_scenarios_come_from_the_source(ref: Referential, source: str) -> None:
    text = normalise(source)
    missing = [e.id for e in ref.evaluations if normalise(e.scenario)[:120] not in text]
    assert not missing


def test_rule_matches_the_document(ref: Referential, source: str) -> None:
    text = normalise(source)
    months = re.search(r"mission en entreprise de (\d+) mois minimum équivalent temps plein", text)
    assert months is not None
    assert ref.rule.thesis.mission_min_months_fte == int(months.group(1)) == 4
    assert "hors VAE" in text and "(5A ou 5B)" in text and "soutenir oralement" in text
    assert normalise(ref.rule.statement) in text


# -- data integrity -------------------------------------------------------------------------------------
def test_ids_are_unique_and_include_the_bloc(ref: Referential) -> None:
    items = [*ref.activities, *ref.competencies, *ref.criteria, *ref.evaluations]
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    for item in items:
        assert item.id.startswith(f"{item.bloc}."), item.id
    assert ref.competency("5B.A3.C1").code == "A3-C1"
    assert ref.criterion("1.A4.C1-C3.E1").competencies == ("A4-C1", "A4-C2", "A4-C3")
    assert ref.criterion("5B.A4.C3.E4").id != ref.criterion("5B.A4.C4.E4").id


def test_codes_are_unique_within_a_bloc(ref: Referential) -> None:
    for b in ref.blocs:
        for codes in ([c.code for c in b.competencies], [c.code for c in b.criteria]):
            assert len(codes) == len(set(codes)), b.code


def test_cross_references(ref: Referential) -> None:
    for b in ref.blocs:
        assert b.competencies, f"bloc {b.code} has no competency"
        assert b.evaluations, f"bloc {b.code} has no evaluation"
        codes = {c.code for c in b.competencies}
        for crit in b.criteria:
            assert crit.competencies and set(crit.competencies) <= codes, crit.id
        for ev in b.evaluations:
            assert ev.competencies and set(ev.competencies) <= codes, ev.id
        for comp in b.competencies:
            assert b.evaluations_for(comp.code), f"{comp.id} is assessed by no evaluation"
            assert ref.criteria_validating(comp.id), f"{comp.id} has no criterion"
            assert comp.activity in {a.code for a in b.activities}, comp.id
    assert ref.integrity_problems() == []


def test_criterion_ranges_expand_as_written(ref: Referential) -> None:
    b1 = ref.bloc("1")
    assert b1.criterion("A4-C5 à C6-E3").competencies == ("A4-C5", "A4-C6")
    assert b1.criterion("A4-C5 à C6-E3").id == "1.A4.C5-C6.E3"
    assert [c.code for c in ref.criteria_validating("1.A4.C2")] == ["A4-C1 à C3-E1"]


def test_lookups_fail_with_the_unknown_id(ref: Referential) -> None:
    with pytest.raises(ReferentialLookupError, match=r"9\.A1\.C1"):
        ref.competency("9.A1.C1")
    with pytest.raises(ReferentialLookupError, match="7Z"):
        ref.bloc("7Z")
    with pytest.raises(ReferentialLookupError):
        ref.criterion("1.A1.C1")  # a competency id is not a criterion id
    assert ref.bloc("5a").code == "5A"


def test_rule_data(ref: Referential) -> None:
    rule = ref.rule
    assert rule.common_blocs == ("1", "2", "3", "4")
    assert rule.option_blocs == ("5A", "5B")
    assert rule.options_required == 1
    assert rule.thesis.required is True
    assert rule.thesis.defence == "oral"
    assert rule.thesis.mission_min_months_fte == 4
    assert rule.applies_outside_vae is True
    assert rule.vae.mentioned_as == "hors VAE"


# -- the loader on broken copies ------------------------------------------------------------------------
def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "referential.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _copy(raw: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(raw))
    return copied


def test_an_unmodified_copy_loads_equal(raw: dict[str, Any], tmp_path: Path, ref: Referential) -> None:
    assert load_referential(_write(tmp_path, _copy(raw))) == ref


def test_duplicate_id_is_refused(raw: dict[str, Any], tmp_path: Path) -> None:
    data = _copy(raw)
    comps = data["blocs"][0]["competencies"]
    comps[1]["id"] = comps[0]["id"]
    with pytest.raises(ReferentialError, match=r"duplicate id '1\.A1\.C1'") as err:
        load_referential(_write(tmp_path, data))
    assert err.value.problems


def test_duplicate_competency_code_is_refused(raw: dict[str, Any], tmp_path: Path) -> None:
    data = _copy(raw)
    data["blocs"][2]["competencies"].append(dict(data["blocs"][2]["competencies"][0]))
    with pytest.raises(ReferentialError, match=r"duplicate competency code 'A1-C1'"):
        load_referential(_write(tmp_path, data))


def test_criterion_naming_a_missing_competency_is_refused(raw: dict[str, Any], tmp_path: Path) -> None:
    data = _copy(raw)
    crit = data["blocs"][1]["criteria"][0]
    crit["competencies"] = ["A9-C9"]
    with pytest.raises(ReferentialError) as err:
        load_referential(_write(tmp_path, data))
    assert any(crit["id"] in p and "'A9-C9'" in p for p in err.value.problems), err.value.problems


def test_competency_without_evaluation_is_refused(raw: dict[str, Any], tmp_path: Path) -> None:
    data = _copy(raw)
    data["blocs"][0]["competencies"].append(
        {"code": "A1-C9", "id": "1.A1.C9", "activity": "A1", "statement": "Une compétence ajoutée."}
    )
    with pytest.raises(ReferentialError, match=r"competency '1\.A1\.C9': assessed by no evaluation"):
        load_referential(_write(tmp_path, data))


def test_competency_removed_from_its_only_evaluation_is_refused(raw: dict[str, Any], tmp_path: Path) -> None:
    data = _copy(raw)
    for ev in data["blocs"][0]["evaluations"]:
        ev["competencies"] = [c for c in ev["competencies"] if c != "A3-C1"] or ev["competencies"]
    evs = [ev for ev in data["blocs"][0]["evaluations"] if "A3-C1" in ev["competencies"]]
    for ev in evs:  # an evaluation that assessed only A3-C1 now assesses A1-C1
        ev["competencies"] = ["A1-C1"]
    with pytest.raises(ReferentialError, match=r"'1\.A3\.C1': assessed by no evaluation"):
        load_referential(_write(tmp_path, data))


def test_bloc_without_competency_is_refused(raw: dict[str, Any], tmp_path: Path) -> None:
    data = _copy(raw)
    bloc = data["blocs"][3]
    bloc["competencies"], bloc["criteria"], bloc["evaluations"] = [], [], []
    with pytest.raises(ReferentialError, match=r"bloc '4' has no competency"):
        load_referential(_write(tmp_path, data))


def test_missing_field_is_a_referential_error_naming_the_item(raw: dict[str, Any], tmp_path: Path) -> None:
    data = _copy(raw)
    del data["blocs"][4]["competencies"][2]["statement"]
    with pytest.raises(ReferentialError, match=r"5A\.A1\.C3\)\.statement"):
        load_referential(_write(tmp_path, data))


def test_rule_naming_an_unknown_bloc_is_refused(raw: dict[str, Any], tmp_path: Path) -> None:
    data = _copy(raw)
    data["rule"]["option_blocs"] = ["5A", "5B", "5C"]
    with pytest.raises(ReferentialError, match=r"unknown bloc '5C'"):
        load_referential(_write(tmp_path, data))


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: '1.0.0'\nblocs: [unclosed\n", encoding="utf-8")
    with pytest.raises(ReferentialError, match="invalid YAML"):
        load_referential(path)


def test_not_a_mapping_and_missing_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ReferentialError, match="expected a mapping"):
        load_referential(path)
    with pytest.raises(ReferentialError, match="not found"):
        load_referential(tmp_path / "absent.yaml")


# -- serialisation ----------------------------------------------------------------------------------------
def test_round_trip_yaml_model_json_model(ref: Referential) -> None:
    text = json.dumps(ref.to_public_dict(), ensure_ascii=False)
    again = Referential.from_dict(json.loads(text), source="json")
    assert again == ref
    assert again.digest == ref.digest
    assert again.to_public_dict() == ref.to_public_dict()


def test_public_dict_has_derived_fields(ref: Referential) -> None:
    data = ref.to_public_dict()
    comp = data["blocs"][0]["competencies"][0]
    assert comp["id"] == "1.A1.C1" and comp["bloc"] == "1"
    assert comp["criterion_ids"] and comp["evaluation_ids"]
    crit = data["blocs"][0]["criteria"][0]
    assert crit["competency_ids"] == [f"1.{c.replace('-', '.')}" for c in crit["competencies"]]


def test_digest_is_stable_and_follows_the_data(raw: dict[str, Any], tmp_path: Path, ref: Referential) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", ref.digest)
    assert load_referential(_write(tmp_path, _copy(raw))).digest == ref.digest
    changed = _copy(raw)
    changed["blocs"][0]["competencies"][0]["statement"] += " (modifié)"
    other = tmp_path / "other"
    other.mkdir()
    assert load_referential(_write(other, changed)).digest != ref.digest
    bumped = _copy(raw)
    bumped["version"] = "9.9.9"
    third = tmp_path / "third"
    third.mkdir()
    assert load_referential(_write(third, bumped)).digest != ref.digest


# -- make -s referential -------------------------------------------------------------------------------
def _run_script(env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "referential.py")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_referential_script_prints_the_documented_shape(ref: Referential) -> None:
    done = _run_script()
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["version"] == ref.version
    assert [b["code"] for b in data["blocs"]] == list(BLOC_CODES)
    for b in data["blocs"]:
        assert b["title"]
        assert {"code", "title", "competencies", "criteria", "evaluations"} <= b.keys()
        for c in b["competencies"]:
            assert {"code", "id", "statement"} <= c.keys() and c["statement"]
        for c in b["criteria"]:
            assert {"code", "id", "statement", "competencies"} <= c.keys() and c["competencies"]
        assert b["evaluations"]
        competencies, criteria, evaluations = KNOWN_COUNTS[b["code"]]
        assert (len(b["competencies"]), len(b["criteria"]), len(b["evaluations"])) == (
            competencies,
            criteria,
            evaluations,
        )
    rule = data["rule"]
    assert rule["common_blocs"] == ["1", "2", "3", "4"] and rule["option_blocs"] == ["5A", "5B"]
    assert rule["thesis"]["mission_min_months_fte"] == 4
    assert Referential.from_dict(data) == ref


def test_referential_script_counts_match_the_document(sections: dict[str, str]) -> None:
    done = _run_script()
    assert done.returncode == 0, done.stderr
    for b in json.loads(done.stdout)["blocs"]:
        section = sections[b["code"]]
        assert sorted(c["code"] for c in b["competencies"]) == sorted(source_competency_codes(section))
        assert sorted(c["code"] for c in b["criteria"]) == sorted(source_criterion_codes(section))


def test_referential_script_fails_loudly_on_a_broken_file(raw: dict[str, Any], tmp_path: Path) -> None:
    data = _copy(raw)
    data["blocs"][1]["criteria"][0]["competencies"] = ["A9-C9"]
    done = _run_script({"CERTIFIA_REFERENTIAL": str(_write(tmp_path, data))})
    assert done.returncode == 1
    assert done.stdout == ""
    assert "A9-C9" in done.stderr
