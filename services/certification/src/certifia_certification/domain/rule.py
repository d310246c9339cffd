"""The certification rule, read from the referential's rule data (``referential.rule``), never hard-coded.

The referential says: « le candidat, hors VAE, devra valider les 4 premiers blocs de compétences et l'une
des deux en option (5A ou 5B) et soutenir oralement une thèse professionnelle ». Here that reads:

- every bloc of ``rule.common_blocs`` is passed;
- ``rule.options_required`` option bloc(s) of ``rule.option_blocs``: the option the candidate *chose*
  must be passed. Passing the other option bloc earns its bloc certificate but does not stand in for the
  chosen one; with no option chosen yet there is no diploma;
- the professional thesis (``rule.thesis.required``) is defended with the outcome ``passed``;
- VAE ("hors VAE"): when ``rule.applies_outside_vae`` is true, the rule above is stated for candidates
  *outside* VAE. A VAE candidate's blocs are validated by a VAE jury decision per bloc
  (``rule.vae.validation``), which reaches us as the same ``bloc.passed`` events, so the bloc and option
  requirements stay, but the thesis is not required of them. This is the project's reading (issue #2),
  the source does not describe the VAE route;
- the candidate's enrolment is known: the diploma names its holder and path, which only
  ``candidate.enrolled`` tells us (not a referential requirement, a precondition to issue);
- the candidate has not withdrawn (``candidate.withdrawn``): a withdrawn candidate keeps the bloc
  certificates of blocs passed before leaving, and gets no diploma.
"""

from __future__ import annotations

from dataclasses import dataclass

from certifia_certification.domain.model import CandidateProgress
from certifia_shared.referential import CertificationRule


@dataclass(frozen=True)
class Missing:
    """One requirement not yet met: ``code`` is stable (``bloc:3``, ``option``, ``thesis``, ``enrolment``,
    ``withdrawn``)."""

    code: str
    description: str


@dataclass(frozen=True)
class RuleResult:
    missing: tuple[Missing, ...]
    thesis_required: bool
    blocs: tuple[str, ...]
    """The blocs the diploma is awarded on (common blocs and the chosen option)."""

    @property
    def satisfied(self) -> bool:
        return not self.missing


def bloc_order(rule: CertificationRule) -> tuple[str, ...]:
    return (*rule.common_blocs, *rule.option_blocs)


def thesis_required(rule: CertificationRule, path: str | None) -> bool:
    """The thesis is required unless the candidate is on the VAE path and the rule applies outside VAE.

    Path unknown (enrolment not received yet): required, the safe reading.
    """
    if not rule.thesis.required:
        return False
    return not (rule.applies_outside_vae and path == "vae")


def evaluate(rule: CertificationRule, progress: CandidateProgress) -> RuleResult:
    """What the candidate still lacks for the diploma (empty: the diploma is due unless already issued)."""
    passed = set(progress.blocs)
    missing: list[Missing] = []
    if progress.enrolment is None:
        missing.append(Missing("enrolment", "The candidate's enrolment has not been received yet."))
    if progress.withdrawn_at is not None:
        missing.append(Missing("withdrawn", f"The candidate withdrew on {progress.withdrawn_at:%Y-%m-%d}."))
    missing += [
        Missing(f"bloc:{b}", f"Bloc {b} is not passed.") for b in rule.common_blocs if b not in passed
    ]
    chosen = _option_requirements(rule, progress, passed, missing)
    needs_thesis = thesis_required(rule, progress.path)
    if needs_thesis:
        missing += _thesis_requirements(progress)
    blocs = (*rule.common_blocs, *chosen)
    return RuleResult(missing=tuple(missing), thesis_required=needs_thesis, blocs=blocs)


def _option_requirements(
    rule: CertificationRule, progress: CandidateProgress, passed: set[str], missing: list[Missing]
) -> tuple[str, ...]:
    if rule.options_required <= 0:
        return ()
    choices = ", ".join(rule.option_blocs)
    option = progress.option
    if option is None or option not in rule.option_blocs:
        missing.append(Missing("option", f"No option bloc is chosen (one of {choices})."))
        return ()
    if option not in passed:
        others = sorted(passed.intersection(rule.option_blocs))
        note = f" (bloc {', '.join(others)} is passed, but the chosen option is {option})" if others else ""
        missing.append(
            Missing(f"bloc:{option}", f"Option bloc {option}, the chosen option, is not passed{note}.")
        )
    passed_options = passed.intersection(rule.option_blocs)
    if len(passed_options | {option}) < rule.options_required:
        missing.append(
            Missing("option", f"{rule.options_required} option blocs are required (among {choices}).")
        )
    extra = sorted(passed_options - {option})[: max(rule.options_required - 1, 0)]
    return (option, *extra)


def _thesis_requirements(progress: CandidateProgress) -> list[Missing]:
    if progress.thesis is None:
        return [Missing("thesis", "The professional thesis has not been defended.")]
    if progress.thesis.outcome != "passed":
        return [Missing("thesis", f"The professional thesis defence {progress.thesis.defence_id} failed.")]
    return []
