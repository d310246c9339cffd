"""Walk one demo candidate (option 5B) from enrolment to a verified diploma, through REST only.

Run by ``make run`` once the stack is up (``scripts/stack.py up``); ``make demo`` runs it again against a
running stack (a new candidate each time). Every step prints what it did; the end prints the URLs to
look at.
"""

from __future__ import annotations

import io
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from certifia_shared.auth import mint_token
from certifia_shared.referential import load_referential
from pydantic import SecretStr
from stack import Stack

DEMO_PACK = "b2_data_cleaning"


class Demo:
    def __init__(self, stack: Stack, *, out: Any = sys.stdout) -> None:
        self.stack = stack
        self.secret = SecretStr(stack.secret)
        self.http = httpx.Client(timeout=30)
        self.out = out
        self.referential = load_referential()

    # -- helpers ---------------------------------------------------------------------------------------
    def say(self, message: str, end: str = "\n") -> None:
        print(message, file=self.out, flush=True, end=end)

    def headers(self, *roles: str, subject: str = "demo", candidate_id: str | None = None) -> dict[str, str]:
        token = mint_token(
            self.secret, subject=subject, roles=roles, candidate_id=candidate_id, client_id="demo-lms"
        )
        return {"Authorization": f"Bearer {token}"}

    def call(
        self, method: str, service: str, path: str, *, expect: tuple[int, ...] = (200, 201), **kw: Any
    ) -> Any:
        response = self.http.request(method, self.stack.url(service) + path, **kw)
        if response.status_code not in expect:
            raise RuntimeError(f"{method} {service}{path} -> {response.status_code}: {response.text[:800]}")
        return response.json() if response.content else None

    def wait(self, what: str, probe: Any, timeout: float = 120.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.3)
        raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")

    # -- the lifecycle ---------------------------------------------------------------------------------
    def run(self, *, option: str = "5B", grade_submission: bool = True) -> dict[str, Any]:
        t0 = time.monotonic()
        lms = self.headers("lms", subject="demo-lms")
        jury = self.headers("jury", subject="jury-demo")
        officer = self.headers("officer", subject="officer-demo")
        external_id = f"demo-{uuid.uuid4().hex[:8]}"
        candidate = self.call(
            "POST",
            "enrolment",
            "/candidates",
            headers=lms,
            json={
                "external_id": external_id,
                "given_name": "Camille",
                "family_name": "Durand",
                "email": f"{external_id}@example.org",
                "cohort": "2026-demo",
            },
        )
        cid = candidate["id"]
        me = self.headers("candidate", subject=external_id, candidate_id=cid)
        self.say(f"[1/7] enrolled candidate {cid} (LMS id {external_id})")
        self.call("PUT", "enrolment", f"/candidates/{cid}/option", headers=me, json={"option": option})
        self.say(f"[2/7] chose option bloc {option}")

        # assessment learns of the candidate from candidate.enrolled over Kafka
        self.wait(
            "assessment to learn of the candidate",
            lambda: (
                self.http.get(
                    self.stack.url("assessment") + f"/candidates/{cid}/progress", headers=jury
                ).status_code
                == 200
            ),
        )
        automated: set[str] = set()
        if grade_submission:
            automated = self.graded_submission(cid, me, jury)
        blocs = ["1", "2", "3", "4", option]
        self.say(f"[4/7] jury decisions on every remaining criterion of blocs {', '.join(blocs)}")
        for code in blocs:
            bloc = self.referential.bloc(code)
            todo = [c for c in bloc.criteria if c.id not in automated]
            live = sys.stdout.isatty() and self.out is sys.stdout
            for i, criterion in enumerate(todo, 1):
                self.call(
                    "POST",
                    "assessment",
                    f"/candidates/{cid}/decisions",
                    headers=jury,
                    json={"criterion_id": criterion.id, "outcome": "validated", "comment": "démonstration"},
                )
                if live or i == len(todo):  # a redrawn bar on a terminal, one line per bloc in a log
                    bar = "#" * (20 * i // len(todo))
                    self.say(f"\r      bloc {code:2} [{bar:20}] {i}/{len(todo)} criteria validated", end="")
            self.say("")
        self.say("      waiting for certification to see blocs 1-4 and the option passed ...")
        self.wait(
            "the blocs to reach certification",
            lambda: set(blocs) <= set(self.progress(cid, me).get("blocs_passed", [])),
        )
        mission = self.call(
            "POST",
            "thesis",
            f"/candidates/{cid}/missions",
            headers=officer,
            json={
                "company": "Acme IA",
                "start_date": "2026-01-05",
                "end_date": "2026-06-30",
                "fte": 1.0,
            },
        )
        self.say(f"[5/7] company mission registered: {mission.get('months_fte')} months FTE at Acme IA")
        self.call(
            "POST",
            "thesis",
            f"/candidates/{cid}/defence",
            headers=jury,
            json={
                "mission_id": mission["id"],
                "outcome": "passed",
                "grade": 16.5,
                "jury": ["Dr Martin", "Mme Leroy"],
            },
        )
        self.say("[6/7] professional thesis defended: passed (16.5/20)")
        diploma = self.wait("the diploma", lambda: self.diploma(cid, me))
        diploma_id = diploma["diploma_id"]
        verification = self.call("GET", "certification", f"/diplomas/{diploma_id}/verification")
        self.say(f"[7/7] diploma {diploma_id} issued; public verification says: {verification.get('valid')}")
        took = time.monotonic() - t0
        self.say(f"\nDone in {took:.1f}s. Look at:")
        self.say(
            f"  progress      {self.stack.url('certification')}/candidates/{cid}/progress  (bearer token needed)"
        )
        self.say(
            f"  verification  {self.stack.url('certification')}/diplomas/{diploma_id}/verification  (public)"
        )
        self.say(f"  referential   {self.stack.url('assessment')}/referential")
        self.say(f"  API docs      {self.stack.url('assessment')}/docs (one per service, ports 8001-8005)")
        self.say(
            f"  traces        {self.stack.state_dir / 'spans'}/*.jsonl ; logs in {self.stack.state_dir / 'logs'}"
        )
        return {"candidate_id": cid, "diploma_id": diploma_id, "verification": verification, "seconds": took}

    def diploma(self, cid: str, headers: dict[str, str]) -> dict[str, Any] | None:
        response = self.http.get(
            self.stack.url("certification") + f"/candidates/{cid}/diploma", headers=headers
        )
        return response.json() if response.status_code == 200 else None

    def progress(self, cid: str, headers: dict[str, str]) -> dict[str, Any]:
        response = self.http.get(
            self.stack.url("certification") + f"/candidates/{cid}/progress", headers=headers
        )
        return response.json() if response.status_code == 200 else {}

    def graded_submission(self, cid: str, me: dict[str, str], jury: dict[str, str]) -> set[str]:
        """Hand in the pack's reference solution; grading-compute validates its criteria."""
        packs = self.call("GET", "grading-compute", "/packs", headers=jury)
        pack = next((p for p in packs if p["id"] == DEMO_PACK), None)
        if pack is None or not pack.get("evaluation_id"):
            self.say(f"[3/7] no grading pack {DEMO_PACK!r}: skipping automated grading")
            return set()
        archive = reference_archive(DEMO_PACK)
        submission = self.call(
            "POST",
            "assessment",
            f"/candidates/{cid}/submissions",
            headers=me,
            data={"evaluation_id": pack["evaluation_id"], "pack_id": DEMO_PACK},
            files={"file": ("solution.zip", archive, "application/zip")},
        )
        self.say(
            f"[3/7] submitted code for {pack['evaluation_id']} (pack {DEMO_PACK}); grading in the sandbox ..."
        )
        done = self.wait(
            "the grading verdict",
            lambda: (
                (s := self.call("GET", "assessment", f"/submissions/{submission['id']}", headers=me))[
                    "status"
                ]
                in {"graded", "failed"}
                and s
            ),
            timeout=300,
        )
        if done["status"] == "failed":
            self.say(f"      grading failed: {done['failure_reason']}")
            return set()
        validated = {c["criterion_id"] for c in done["report"]["criteria"] if c["verdict"] == "validated"}
        for c in done["report"]["criteria"]:
            self.say(
                f"      {c['criterion_id']:14} {c['verdict']:9} {c['metric']}={c['value']} ({c['comparator']} {c['threshold']})"
            )
        return validated


def reference_archive(pack_id: str) -> bytes:
    """Zip the pack's reference submission (shipped with the pack for tests and the demo)."""
    import certifia_grading

    folder = Path(certifia_grading.__file__).parent / "packs" / pack_id / "reference"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                z.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def main() -> int:
    stack = Stack()
    try:
        Demo(stack).run()
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"\ndemo failed: {exc}\nlogs: {stack.state_dir / 'logs'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
