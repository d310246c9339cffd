"""The suspension in force on a diploma or bloc certificate row, and the history of every suspension and lifting.
Never commits."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Table, insert, select, update
from sqlalchemy.orm import Session

from certifia_certification.adapters.orm import bloc_certificates, diplomas, suspension_history
from certifia_certification.domain.suspension import CredentialKind, Suspension, SuspensionRecord

_TABLES: dict[CredentialKind, tuple[Table, str]] = {
    "diploma": (diplomas, "diploma_id"),
    "bloc_certificate": (bloc_certificates, "certificate_id"),
}


class SuspensionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _update(
        self, kind: CredentialKind, credential_id: str, condition: Any, values: dict[str, Any]
    ) -> bool:
        table, key = _TABLES[kind]
        result = self.session.execute(
            update(table).where(table.c[key] == credential_id, condition(table)).values(**values)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    def suspend(self, kind: CredentialKind, credential_id: str, s: Suspension) -> bool:
        """Put the suspension in force unless one already is (or the credential is revoked); False when
        another transaction got there first."""
        return self._update(
            kind,
            credential_id,
            lambda t: t.c.suspended_at.is_(None) & t.c.revoked_at.is_(None),
            {
                "suspended_at": s.suspended_at,
                "suspension_reason": s.reason,
                "suspended_by": s.suspended_by,
                "suspended_by_role": s.suspended_by_role,
            },
        )

    def lift(self, kind: CredentialKind, credential_id: str, current: Suspension) -> bool:
        """Lift the suspension ``current``; False when another transaction changed it since it was read."""
        cleared = dict.fromkeys(("suspended_at", "suspension_reason", "suspended_by", "suspended_by_role"))
        return self._update(kind, credential_id, lambda t: t.c.suspended_at == current.suspended_at, cleared)

    def record(self, kind: CredentialKind, credential_id: str, r: SuspensionRecord) -> None:
        self.session.execute(
            insert(suspension_history).values(
                credential_kind=kind,
                credential_id=credential_id,
                action=r.action,
                at=r.at,
                reason=r.reason,
                decided_by=r.by,
                decided_by_role=r.by_role,
            )
        )

    def history(self, kind: CredentialKind, credential_id: str) -> list[SuspensionRecord]:
        """Every suspension and lifting of the credential, oldest first."""
        h = suspension_history.c
        rows = self.session.execute(
            select(suspension_history)
            .where(h.credential_kind == kind, h.credential_id == credential_id)
            .order_by(h.id)
        )
        return [SuspensionRecord(r.action, r.at, r.reason, r.decided_by, r.decided_by_role) for r in rows]
