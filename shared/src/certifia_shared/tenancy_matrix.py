"""The role x tenant matrix, generated from a service's own OpenAPI document, for its test suite.

Every operation whose path names a candidate (``{candidate_id}``) or a resource of one (``{submission_id}``,
``{diploma_id}``...) is called by each kind of caller; the tenancy rule (certifia_shared.tenancy) must hold:

- no token: 401;
- another LMS: the same 404 an unknown id gets (nothing disclosed);
- another candidate: 403 on a candidate's path, the resource's 404 on a resource's path;
- the LMS that enrolled the candidate, the candidate themself, and staff: never refused by tenancy (they
  may still be refused by role, 403 "needs one of the roles", or get a 4xx for the empty body).

A path parameter the suite has not classified fails the test, so a new route cannot be forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from certifia_shared.testing import auth

PARAM = re.compile(r"\{([^}]+)\}")
ROLE_REFUSAL = "This action needs one of the roles"
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the template, as in the OpenAPI document

    @property
    def params(self) -> set[str]:
        return set(PARAM.findall(self.path))

    def url(self, values: Mapping[str, str]) -> str:
        return PARAM.sub(lambda m: values[m.group(1)], self.path)


def operations(client: TestClient) -> list[Operation]:
    paths: dict[str, Any] = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return [Operation(m, p) for p, item in paths.items() for m in METHODS if m in item]


@dataclass
class Matrix:
    """What one service's suite knows: the candidate of tenant ``owner_lms``, an id per resource parameter
    (each a resource of that candidate), and the paths that are public or about no candidate."""

    client: TestClient
    candidate_id: str
    owner_lms: str
    resources: dict[str, str] = field(default_factory=dict)  # path parameter -> an id of the candidate's
    not_candidate_scoped: set[str] = field(default_factory=set)  # path templates: public, packs, ...
    other_lms: str = "lms-other"

    def callers(self) -> dict[str, dict[str, str]]:
        return {
            "owner lms": auth("lms", subject=f"{self.owner_lms}-sa", client_id=self.owner_lms),
            "other lms": auth("lms", subject=f"{self.other_lms}-sa", client_id=self.other_lms),
            "the candidate": auth("candidate", subject="account-self", candidate_id=self.candidate_id),
            "another candidate": auth("candidate", subject="account-other", candidate_id="someone-else"),
            "admin": auth("admin", subject="admin-1"),
            "officer": auth("officer", subject="officer-1"),
            "jury": auth("jury", subject="jury-1"),
        }

    def scoped(self) -> list[Operation]:
        """The candidate-scoped operations; fails on a path parameter no one classified."""
        known = {"candidate_id", *self.resources}
        out = []
        for op in operations(self.client):
            if op.path in self.not_candidate_scoped or not op.params:
                continue
            unknown = op.params - known
            assert not unknown, (
                f"{op.method.upper()} {op.path}: path parameters {sorted(unknown)} are not classified: give "
                "the suite an id of the candidate's resource for each, or list the path as not candidate-scoped"
            )
            out.append(op)
        assert out, "no candidate-scoped operation found: is the OpenAPI document empty?"
        return out

    def call(self, op: Operation, headers: dict[str, str], values: Mapping[str, str] | None = None) -> Any:
        url = op.url({"candidate_id": self.candidate_id, **self.resources, **(values or {})})
        body: dict[str, Any] = {"json": {}} if op.method in ("post", "put", "patch") else {}
        return self.client.request(op.method.upper(), url, headers=headers, **body)

    def check(self) -> list[str]:
        """Every violation of the rule, as lines (empty when it holds)."""
        failures: list[str] = []
        callers = self.callers()
        for op in self.scoped():
            on_resource = "candidate_id" not in op.params
            unknown_ids = {p: f"no-such-{p}" for p in op.params}

            def unknown(who: str, ids: dict[str, str] = unknown_ids, op: Operation = op) -> Any:
                return self.call(op, callers[who], ids)  # what that caller gets for ids that do not exist

            def expect(who: str, ok: bool, response: Any, what: str, op: Operation = op) -> None:
                if not ok:
                    failures.append(
                        f"{op.method.upper()} {op.path} as {who}: {what}, got {response.status_code} "
                        f"{response.text[:200]}"
                    )

            r = self.call(op, {})
            expect("nobody", r.status_code == 401, r, "401")
            base = unknown("owner lms")
            r = self.call(op, callers["other lms"])
            expect(
                "another LMS",
                _same(r, base),
                r,
                f"what an unknown id gets ({base.status_code} {_title(base)!r})",
            )
            r = self.call(op, callers["another candidate"])
            if on_resource:
                base = unknown("the candidate")
                expect("another candidate", _same(r, base), r, f"what an unknown id gets ({_title(base)!r})")
            else:
                expect("another candidate", r.status_code == 403 and ROLE_REFUSAL not in r.text, r, "403")
            for who in ("owner lms", "the candidate", "admin", "officer", "jury"):
                r = self.call(op, callers[who])
                if _role_refusal(r):
                    continue  # that role may not do this at all: not tenancy's business
                hidden = r.status_code == 404 and _title(r) in {"Candidate not found", _title(unknown(who))}
                expect(who, not hidden and r.status_code not in (401, 403), r, "not refused by tenancy")
        return failures


def _role_refusal(response: Any) -> bool:
    return bool(response.status_code == 403 and ROLE_REFUSAL in response.text)


def _same(response: Any, baseline: Any) -> bool:
    return bool(response.status_code == baseline.status_code and _title(response) == _title(baseline))


def _title(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("title") if isinstance(body, dict) else None


def assert_holds(matrix: Matrix, *, also: Iterable[str] = ()) -> None:
    failures = [*matrix.check(), *also]
    assert not failures, "tenancy rule broken:\n" + "\n".join(failures)
