"""Read models of governance: each decision's appeal deadline (stretched by an accommodation) and every check
behind an automated verdict; a candidate's audit trail. Each takes an open unit of work (the caller's
``with uow:``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from certifia_assessment.domain.checks import checks_of
from certifia_assessment.domain.governance import AuditEntry, appeal_window, appealable_until
from certifia_assessment.domain.model import Decision
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork


def decision_extras(
    uow: AssessmentUnitOfWork,
    candidate_id: str,
    decisions: list[Decision],
    window: timedelta,
    *,
    exact: bool,
    in_force: dict[str, Decision] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per decision id: ``appealable_until`` (a rejection in force: until when it can be contested; else
    None), ``accommodation`` (the extra time factor applied to that deadline, when one is granted), and for
    automated verdicts ``checks`` (every check of the criterion, rounded unless ``exact``).

    ``in_force``: the decisions the caller knows to be in force, per criterion (a decision just taken is).
    Only what is needed is read: the decision in force and the extra time for a rejection (only a rejection
    can be contested), the reports for a decision on a submission (a jury's validation: no query at all)."""
    rejections = any(d.outcome == "rejected" for d in decisions)
    factor = uow.governance.extra_time_factor(candidate_id) if rejections else None
    stretched = appeal_window(window, factor)
    accommodation = (
        {"extra_time_factor": factor, "applied_to": ["appeal_window"]} if factor and factor > 1 else None
    )
    reports = (
        {s.id: s.report for s in uow.submissions.submissions_of(candidate_id) if s.report}
        if any(d.submission_id for d in decisions)
        else {}
    )
    known: dict[str, Decision | None] = dict(in_force or {})
    out: dict[str, dict[str, Any]] = {}
    for d in decisions:
        if d.outcome == "rejected" and d.criterion_id not in known:
            known[d.criterion_id] = uow.decisions.decision_in_force(candidate_id, d.criterion_id)
        until = appealable_until(d, known.get(d.criterion_id), stretched)
        extras: dict[str, Any] = {
            "appealable_until": until,
            "accommodation": accommodation if until else None,
        }
        report = reports.get(d.submission_id or "")
        verdict = _verdict(report, d.criterion_id)
        if report is not None and verdict is not None:
            metrics = report.get("metrics")
            extras["checks"] = checks_of(verdict, metrics if isinstance(metrics, dict) else {}, exact=exact)
        out[d.id] = extras
    return out


def _verdict(report: dict[str, Any] | None, criterion_id: str) -> dict[str, Any] | None:
    criteria = report.get("criteria") if report else None
    if not isinstance(criteria, list):
        return None
    return next((c for c in criteria if isinstance(c, dict) and c.get("criterion_id") == criterion_id), None)


def audit_trail(uow: AssessmentUnitOfWork, candidate_id: str) -> list[AuditEntry]:
    """Every decision, VAE ruling, appeal opened and resolved, accommodation granted and the withdrawal of
    the candidate, and what the thesis service recorded (defence scheduled, outcome, cancellation, defence
    appeal opened and resolved), with who, in which role, when and why, oldest first."""
    governance = uow.governance
    entries = [
        AuditEntry(
            at=d.decided_at,
            kind="decision",
            account=d.decided_by,
            role=d.decided_by_role,
            reason=d.comment,
            evidence_reference=d.submission_id,  # the work graded, for a verdict on a submission
            outcome=d.outcome,
            bloc=d.bloc,
            criterion_id=d.criterion_id,
            ref=d.id,
        )
        for d in uow.decisions.decisions_of(candidate_id)
    ]
    entries += [
        AuditEntry(
            at=v.decided_at,
            kind="vae_decision",
            account=v.decided_by,
            role=v.decided_by_role,
            reason=v.comment,
            evidence_reference=v.evidence_reference,
            outcome=v.outcome,
            bloc=v.bloc,
            ref=v.id,
        )
        for v in governance.vae_decisions_of(candidate_id)
    ]
    for a in uow.appeals.appeals_of(candidate_id):
        entries.append(
            AuditEntry(
                at=a.opened_at,
                kind="appeal_opened",
                account=a.opened_by,
                role=a.opened_by_role,
                reason=a.grounds,
                bloc=a.bloc,
                criterion_id=a.criterion_id,
                ref=a.id,
            )
        )
        if r := a.resolution:
            entries.append(
                AuditEntry(
                    at=r.resolved_at,
                    kind="appeal_resolved",
                    account=r.resolved_by,
                    role=r.resolved_by_role,
                    reason=r.reasoning,
                    outcome=r.outcome,
                    bloc=a.bloc,
                    criterion_id=a.criterion_id,
                    ref=a.id,
                )
            )
    entries += [
        AuditEntry(
            at=g.granted_at,
            kind="accommodation_granted",
            account=g.granted_by,
            role=g.granted_by_role,
            reason=g.reason,
            evidence_reference=g.evidence_reference,
            outcome=f"extra_time_factor {g.extra_time_factor:g}",
            ref=g.id,
        )
        for g in governance.accommodations_of(candidate_id)
    ]
    entries += governance.thesis_entries_of(candidate_id)
    candidate = uow.candidates.candidate(candidate_id) or {}
    if candidate.get("withdrawn_at") is not None:
        entries.append(
            AuditEntry(
                at=candidate["withdrawn_at"],
                kind="withdrawal",
                account=candidate.get("withdrawn_by"),
                role=candidate.get("withdrawn_by_role"),
                reason=candidate.get("withdrawal_reason"),
            )
        )
    return sorted(entries, key=lambda e: (e.at, e.kind, e.ref or ""))
