"""VAE jury decisions (validation des acquis de l'expérience): a jury rules on a whole bloc for a candidate on
the VAE path, from a file of evidence, and answers for it like a jury decision on a criterion.

Outcomes: ``validated`` (the bloc is passed), ``partially_validated`` (the competencies named are validated;
the bloc is passed only if that completes it) and ``rejected`` (nothing is validated). Every decision names
its author (the token's subject), its comment (why, at least 20 characters) and the reference of the evidence
it rests on. Only one option bloc (5A or 5B) can be passed by a candidate. Plain Python, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from certifia_shared.referential import Competency, Referential

VaeOutcome = Literal["validated", "partially_validated", "rejected"]
VaeDeciderRole = Literal["jury", "officer", "admin"]
COMMENT_MIN_LENGTH = 20
COMMENT_MAX_LENGTH = 5000
EVIDENCE_MAX_LENGTH = 500
OPTION_BLOCS = ("5A", "5B")


@dataclass(frozen=True)
class VaeDecision:
    id: str
    candidate_id: str
    bloc: str
    outcome: VaeOutcome
    competencies_validated: tuple[str, ...]
    """Global ids of the competencies this decision validates (every one of the bloc's when validated)."""
    decided_by: str
    decided_by_role: VaeDeciderRole
    comment: str
    evidence_reference: str
    decided_at: datetime
    referential_version: str

    def same_ruling(self, other: VaeDecision) -> bool:
        """Whether ``other`` says the same thing (a repeat of the same request): same author, outcome,
        competencies and evidence."""
        return (
            self.decided_by,
            self.outcome,
            set(self.competencies_validated),
            self.evidence_reference,
        ) == (other.decided_by, other.outcome, set(other.competencies_validated), other.evidence_reference)


# -- refusals ------------------------------------------------------------------------------------------
class OtherOptionBloc(Exception):
    """The candidate passed, or chose, the other option bloc: only one of 5A and 5B can be passed."""

    def __init__(self, candidate_id: str, bloc: str, other: str, why: Literal["passed", "chosen"]) -> None:
        super().__init__(
            f"candidate {candidate_id} {why} option bloc {other}; {bloc} cannot be validated too"
        )
        self.candidate_id = candidate_id
        self.bloc = bloc
        self.other = other
        self.why = why


class CompetenciesRefused(ValueError):
    """The competencies named do not fit the outcome: a partial validation names some of the bloc's (and
    only those); a validation or a rejection names none (it covers the whole bloc)."""

    def __init__(self, bloc: str, outcome: VaeOutcome, unknown: list[str]) -> None:
        if outcome != "partially_validated":
            why = f"a {outcome} ruling covers the whole bloc {bloc}: name competencies only with partially_validated"
        elif unknown:
            why = (
                f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a competency of bloc {bloc}"
            )
        else:
            why = f"a partially_validated ruling names the competencies of bloc {bloc} it validates"
        super().__init__(why)
        self.bloc = bloc
        self.unknown = unknown


class BlocAlreadyPassed(Exception):
    """The bloc is passed already: a pass is final, a VAE jury cannot reject it or validate part of it."""

    def __init__(self, candidate_id: str, bloc: str, via: str, passed_at: datetime) -> None:
        super().__init__(f"bloc {bloc} of {candidate_id} was passed ({via}) on {passed_at.isoformat()}")
        self.candidate_id = candidate_id
        self.bloc = bloc
        self.via = via
        self.passed_at = passed_at


class NotVaeCandidate(Exception):
    """Blocs are validated by a VAE jury only for candidates enrolled on the VAE path."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id


# -- rules ---------------------------------------------------------------------------------------------
def check_option(candidate_id: str, bloc: str, option: str | None, passed: Iterable[str]) -> None:
    """Raise :class:`OtherOptionBloc` when ``bloc`` is an option bloc and the candidate passed the other one
    or chose the other one (candidate.option_chosen)."""
    if bloc not in OPTION_BLOCS:
        return
    other = next(b for b in OPTION_BLOCS if b != bloc)
    if other in set(passed):
        raise OtherOptionBloc(candidate_id, bloc, other, "passed")
    if option is not None and option != bloc:
        raise OtherOptionBloc(candidate_id, bloc, option, "chosen")


def competencies_of(
    referential: Referential, bloc: str, outcome: VaeOutcome, named: Iterable[str]
) -> list[Competency]:
    """The competencies a decision validates: all of the bloc's when validated, none when rejected, and for
    a partial validation those named (global id such as ``2.A1.C1`` or code such as ``A1-C1``), each once.
    A partial validation naming none, or any that is not the bloc's, and another outcome naming any, raise
    :class:`CompetenciesRefused`."""
    competencies = referential.bloc(bloc).competencies
    names = list(dict.fromkeys(n.strip() for n in named))
    if outcome != "partially_validated":
        if names:
            raise CompetenciesRefused(bloc, outcome, [])
        return list(competencies) if outcome == "validated" else []
    by_name: Mapping[str, Competency] = {
        **{c.code: c for c in competencies},
        **{c.id: c for c in competencies},
    }
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        raise CompetenciesRefused(bloc, outcome, unknown)
    chosen = {by_name[n].id for n in names}
    return [c for c in competencies if c.id in chosen]
