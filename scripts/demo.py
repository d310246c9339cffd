"""Walk one demo candidate (option 5B) from enrolment to a verified diploma, through REST only.

Run by ``make run`` once the stack is up (``scripts/stack.py up``); ``make demo`` runs it again against a
running stack (a new candidate each time). Every step prints what it did; the end prints the URLs to
look at.
"""

from __future__ import annotations

import socket
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from independent_verification import describe, fetch_and_verify
from stack import Stack
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from certifia_shared.referential import load_referential
from certifia_shared.testing import WebhookReceiver

# code packs (candidate code in the sandbox, as Ray tasks) and model packs (ONNX scored by Triton), by option
DEMO_PACKS = {
    "5A": ("b2_data_cleaning", "b2_supervised_onnx", "b5a_digits_vision"),
    "5B": ("b2_data_cleaning", "b2_supervised_onnx", "b5b_model_compression"),
}
HOW_GRADED = {"python": "code, sandboxed", "onnx": "ONNX model"}
DEMO_EXTRA_TIME = 1.25  # the demo candidate's accommodation: a quarter more time
DEMO_HOOK_PATH = "/demo-lms/webhooks"


class Demo:
    def __init__(self, stack: Stack, *, out: Any = sys.stdout, strict_grading: bool = False) -> None:
        """``strict_grading``: a failed automated grading stops the demo (the compose check) instead of
        leaving its criteria to the jury."""
        self.stack = stack
        self.strict_grading = strict_grading
        self.http = httpx.Client(timeout=30)
        self.out = out
        self.referential = load_referential()

    # -- helpers ---------------------------------------------------------------------------------------
    def say(self, message: str, end: str = "\n") -> None:
        print(message, file=self.out, flush=True, end=end)

    def headers(self, role: str, *, lms: str = "demo-lms", candidate_id: str | None = None) -> dict[str, str]:
        """A bearer token from the stack's Keycloak, as each caller gets one: the LMS ``lms`` with its
        client credentials, staff by logging in (the dev users jury-demo, officer-demo, admin-demo), the
        candidate ``candidate_id`` with their own account, grading-compute (``service``) as a client."""
        identity = self.stack.identity
        if role == "lms":
            token = identity.client(lms)
        elif role == "service":
            token = identity.client("grading-compute")
        elif role == "candidate":
            assert candidate_id, "a candidate's token is their own: name the candidate"
            token = identity.candidate(candidate_id)
        else:
            token = identity.staff(role)
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
    def run(
        self,
        *,
        option: str = "5B",
        grade_submission: bool = True,
        lms_endpoint: WebhookReceiver | None = None,
    ) -> dict[str, Any]:
        """The lifecycle. The LMS's webhook endpoint is ``lms_endpoint`` if given (it stays subscribed: the
        e2e suite goes on watching it), else one made and removed here."""
        t0 = time.monotonic()
        lms = self.headers("lms")
        jury = self.headers("jury")
        officer = self.headers("officer")
        external_id = f"demo-{uuid.uuid4().hex[:8]}"
        if lms_endpoint is None:
            self.remove_stale_subscriptions(lms)
        # signed events come back here
        endpoint = lms_endpoint or self.stack.webhook_receiver(DEMO_HOOK_PATH)
        subscription = self.call("POST", "enrolment", "/webhooks", headers=lms, json={"url": endpoint.url})
        try:
            result = self._lifecycle(
                t0,
                lms,
                jury,
                officer,
                external_id,
                option,
                grade_submission,
                (endpoint, subscription["secret"]),
            )
            return {**result, "webhook_secret": subscription["secret"]}
        finally:
            if lms_endpoint is None:
                self.call(
                    "DELETE", "enrolment", f"/webhooks/{subscription['id']}", headers=lms, expect=(204,)
                )
                endpoint.close()

    def remove_stale_subscriptions(self, lms: dict[str, str]) -> None:
        """An earlier demo that was killed before it could unsubscribe left a subscription whose receiver is
        gone: its deliveries would wait ~36 h for nobody. Remove those (a live demo's receiver answers)."""
        for sub in self.call("GET", "enrolment", "/webhooks", headers=lms):
            url = urlsplit(sub["url"])
            if not sub["active"] or url.path != DEMO_HOOK_PATH or url.hostname != "127.0.0.1":
                continue
            try:
                socket.create_connection(("127.0.0.1", url.port or 80), timeout=1).close()
            except OSError:
                self.call("DELETE", "enrolment", f"/webhooks/{sub['id']}", headers=lms, expect=(204, 409))
                self.say(f"   removed the webhook subscription of an earlier demo ({sub['url']})")

    def _lifecycle(
        self,
        t0: float,
        lms: dict[str, str],
        jury: dict[str, str],
        officer: dict[str, str],
        external_id: str,
        option: str,
        grade_submission: bool,
        webhooks: tuple[WebhookReceiver, str],
    ) -> dict[str, Any]:
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
        me = self.headers("candidate", candidate_id=cid)
        self.say(f"[1/7] enrolled candidate {cid} (LMS id {external_id})")
        self.call("PUT", "enrolment", f"/candidates/{cid}/option", headers=me, json={"option": option})
        self.say(f"[2/7] chose option bloc {option}")
        accommodation = self.call(
            "POST",
            "enrolment",
            f"/candidates/{cid}/accommodations",
            headers=officer,
            json={
                "extra_time_factor": DEMO_EXTRA_TIME,
                "adapted_formats": ["rest_breaks"],
                "adapted_defence": "Une pause de dix minutes au milieu de la soutenance.",
                "evidence_reference": "MDPH-2026-DEMO-0042",
                "reason": "Avis du médecin désigné par la CDAPH : un tiers-temps et des pauses.",
            },
        )
        self.say(
            f"      accommodation granted by an officer: extra time x{accommodation['extra_time_factor']:g}, "
            "rest breaks, an adapted defence (décret 2021-389)"
        )

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
            # grading-compute applies the extra time once it has heard of the grant (over Kafka)
            self.wait(
                "grading-compute to apply the accommodation",
                lambda: (
                    self.call("GET", "grading-compute", f"/candidates/{cid}/accommodation", headers=me)[
                        "extra_time_factor"
                    ]
                    == DEMO_EXTRA_TIME
                ),
            )
            proposed = self.graded_submission(cid, me, jury, DEMO_PACKS[option])
            automated = self.jury_confirms(cid, jury, proposed)
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
        self.thesis_defence(cid, me, officer, jury, mission["id"])
        diploma = self.wait("the diploma", lambda: self.diploma(cid, me))
        diploma_id = diploma["diploma_id"]
        verification = self.call("GET", "certification", f"/diplomas/{diploma_id}/verification")
        self.say(f"[7/7] diploma {diploma_id} issued; public verification says: {verification.get('valid')}")
        independent = self.independent_verification(cid, me, diploma)
        received = self.wait(
            "the LMS's diploma.issued webhook", lambda: self.webhooks(*webhooks, cid, "diploma.issued")
        )
        for _ in range(30):  # deliveries run in parallel: give the stragglers a moment to land
            time.sleep(0.5)
            latest = self.webhooks(*webhooks, cid, "diploma.issued") or []
            if len(latest) == len(received):
                break
            received = latest
        summary = ", ".join(f"{n} {name}" for name, n in Counter(received).items())
        self.say(f"      the LMS received {len(received)} signed webhooks, signatures verified: {summary}")
        took = time.monotonic() - t0
        self.say(f"\nDone in {took:.1f}s. Look at:")
        self.say(
            f"  progress      {self.stack.url('certification')}/candidates/{cid}/progress  (bearer token needed)"
        )
        self.say(
            f"  verification  {self.stack.url('certification')}/diplomas/{diploma_id}/verification  (public)"
        )
        self.say(
            f"  diploma page  {self.stack.url('certification')}/diplomas/{diploma_id}/verify  (public, HTML)"
        )
        self.say(
            f"  diploma PDF   {self.stack.url('certification')}/diplomas/{diploma_id}/pdf  (bearer token needed)"
        )
        if independent.get("pdf"):
            self.say(f"  PDF saved     {independent['pdf']}")
        self.say(f"  referential   {self.stack.url('assessment')}/referential")
        self.say(f"  API docs      {self.stack.url('assessment')}/docs (one per service, ports 8001-8005)")
        self.say(
            f"  traces        {self.stack.state_dir / 'spans'}/*.jsonl ; logs in {self.stack.state_dir / 'logs'}"
        )
        return {
            "candidate_id": cid,
            "diploma_id": diploma_id,
            "verification": verification,
            "independent": independent,
            "webhooks": received,
            "seconds": took,
        }

    def independent_verification(
        self, cid: str, me: dict[str, str], diploma: dict[str, Any]
    ) -> dict[str, Any]:
        """The diploma and one bloc certificate checked by an independent eddsa-rdfc-2022 verifier (Digital
        Bazaar's) over the controller document and status lists fetched from the stack; the PDF saved."""
        base = self.stack.url("certification")
        certificate_id = self.progress(cid, me)["certificates"][0]["certificate_id"]
        path = f"/bloc-certificates/{certificate_id}/credential"
        certificate = self.call("GET", "certification", path, headers=me)
        results = {
            "diploma": fetch_and_verify(self.http, base, diploma["credential"]),
            "bloc_certificate": fetch_and_verify(self.http, base, certificate),
        }
        self.say("      " + describe("diploma", results["diploma"]))
        self.say("      " + describe(f"bloc certificate {certificate_id}", results["bloc_certificate"]))
        pdf = self.http.get(f"{base}/diplomas/{diploma['diploma_id']}/pdf", headers=me)
        saved = None
        if pdf.status_code == 200:
            saved = self.stack.state_dir / f"diploma-{diploma['diploma_id']}.pdf"
            saved.write_bytes(pdf.content)
        return {**results, "pdf": str(saved) if saved else None}

    def thesis_defence(
        self, cid: str, me: dict[str, str], officer: dict[str, str], jury: dict[str, str], mission_id: str
    ) -> None:
        """The candidate deposits the thesis (a PDF), an officer schedules the defence, the jury records it."""
        deposit = self.call(
            "POST",
            "thesis",
            f"/candidates/{cid}/thesis/deposit",
            headers=me,
            data={
                "title": "Compression de modèles pour l'inférence embarquée",
                "abstract": "Mission chez Acme IA : quantification et distillation d'un modèle de vision "
                "pour l'exécuter sur un terminal embarqué sans perte de précision notable.",
                "mission_id": mission_id,
            },
            files={"file": ("these.pdf", thesis_pdf("Camille Durand"), "application/pdf")},
        )
        # The local stack gives the jury 0 days to read it (DEFENCE_READING_DAYS, 7 by default): a defence
        # two seconds from now.
        at = datetime.now(UTC) + timedelta(seconds=2)
        schedule = self.call(
            "POST",
            "thesis",
            f"/candidates/{cid}/defence/schedule",
            headers=officer,
            json=defence_schedule(at),
        )
        time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.1)  # the defence is held
        self.call(  # the jury defaults to the scheduled one, the date to the scheduled time
            "POST",
            "thesis",
            f"/candidates/{cid}/defence",
            headers=jury,
            json={"outcome": "passed", "grade": 16.5},
        )
        minutes = schedule.get("duration_minutes")
        longer = f" for {minutes} min (extra time applied)" if schedule.get("accommodation") else ""
        self.say(
            f"[6/7] thesis deposited (v{deposit['version']}, {deposit['size_bytes']} bytes), defence scheduled "
            f"before a jury of 3{longer} and passed (16.5/20)"
        )

    @staticmethod
    def webhooks(endpoint: WebhookReceiver, secret: str, cid: str, last: str) -> list[str] | None:
        """The event names the LMS got for the candidate, once ``last`` is among them; signatures checked."""
        names = []
        for headers, body in list(endpoint.received):
            try:
                message = Webhook(secret).verify(body, headers)
            except WebhookVerificationError as exc:
                raise RuntimeError(f"a webhook failed signature verification: {exc}") from exc
            if message["candidate"]["id"] == cid:
                names.append(message["type"])
        return names if last in names else None

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

    def jury_confirms(self, cid: str, jury: dict[str, str], proposed: set[str]) -> set[str]:
        """The jury policy (contracts/referential/jury_policy.yaml) makes an automated verdict on a
        document's or an oral's evaluation a proposal: a jury member reads the evidence and confirms them,
        in bulk, in their own name. Returns the criteria that are validated once confirmed."""
        pending = self.call(
            "GET", "assessment", f"/proposals?candidate_id={cid}&status=pending", headers=jury
        )
        if not pending:
            return proposed
        confirmed = self.call(
            "POST",
            "assessment",
            "/proposals/reviews",
            headers=jury,
            json={
                "proposal_ids": [p["id"] for p in pending],
                "comment": "Preuves relues : les mesures du correcteur automatique sont confirmées.",
            },
        )
        policies = ", ".join(sorted({p["policy"] for p in pending}))
        reviewer = next(
            (
                r["reviewed_by"]
                for p in confirmed["proposals"]
                for r in p.get("reviews", [])
                if r.get("reviewed_by")
            ),
            "a jury member",
        )
        self.say(
            f"      jury member {reviewer} confirmed {confirmed['confirmed']} automated verdicts under review "
            f"(policy {policies}): the decisions are in their name"
        )
        automatic = {p["criterion_id"] for p in pending}
        return {c for c in proposed if c not in automatic} | {
            p["criterion_id"] for p in confirmed["proposals"] if p["proposed_outcome"] == "validated"
        }

    def graded_submission(
        self, cid: str, me: dict[str, str], jury: dict[str, str], pack_ids: tuple[str, ...]
    ) -> set[str]:
        """Hand in each demo pack's reference submission at once; grading-compute validates their criteria."""
        listed = {p["id"]: p for p in self.call("GET", "grading-compute", "/packs", headers=jury)}
        packs = [listed[p] for p in pack_ids if p in listed and listed[p].get("evaluation_id")]
        if not packs:
            self.say(f"[3/7] none of the grading packs {pack_ids} is served: skipping automated grading")
            return set()
        submitted = []
        for pack in packs:
            submission = self.call(
                "POST",
                "assessment",
                f"/candidates/{cid}/submissions",
                headers=me,
                data={"evaluation_id": pack["evaluation_id"], "pack_id": pack["id"]},
                files={"file": ("submission.zip", reference_archive(pack["id"]), "application/zip")},
            )
            submitted.append((pack, submission["id"]))
        what = ", ".join(f"{p['id']} ({HOW_GRADED[p['interface']]})" for p, _ in submitted)
        self.say(f"[3/7] handed in {len(submitted)} submissions for automated grading: {what}")
        validated: set[str] = set()
        for pack, sid in submitted:
            done = self.wait(
                f"the verdict on {pack['id']}",
                lambda sid=sid: (
                    (s := self.call("GET", "assessment", f"/submissions/{sid}", headers=me))["status"]
                    in {"graded", "failed"}
                    and s
                ),
                timeout=300,
            )
            if done["status"] == "failed":
                self.say(f"      {pack['id']}: grading failed: {done['failure_reason']}")
                if self.strict_grading:
                    raise RuntimeError(f"automated grading of {pack['id']} failed: {done['failure_reason']}")
                continue
            extra = done["report"].get("accommodation")
            under = f", graded under extra time x{extra['extra_time_factor']:g}" if extra else ""
            self.say(f"      {pack['id']} v{done['report']['pack_version']}{under}:")
            for c in done["report"]["criteria"]:
                if c["verdict"] == "validated":
                    validated.add(c["criterion_id"])
                self.say(
                    f"        {c['criterion_id']:14} {c['verdict']:9} {c['metric']}={c['value']}"
                    f" ({c['comparator']} {c['threshold']})"
                )
        return validated


def defence_schedule(at: datetime) -> dict[str, Any]:
    """What an officer sends to schedule a defence at ``at``: the room and a jury of three."""
    return {
        "scheduled_at": at.isoformat(),
        "location": "Salle B204",
        "jury": [
            {"name": "Dr Martin", "role": "president"},
            {"name": "Mme Leroy", "role": "member"},
            {"name": "M. Petit", "role": "company_tutor"},
        ],
    }


def thesis_pdf(author: str) -> bytes:
    """A one-page thesis cover as a PDF (fpdf2, core fonts)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    pdf.multi_cell(
        0,
        10,
        "Thèse professionnelle\nCompression de modèles pour l'inférence embarquée",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, f"{author} - Ingénieur en Intelligence Artificielle (MS)")
    return bytes(pdf.output())


def reference_archive(pack_id: str) -> bytes:
    """The pack's reference submission (shipped with the pack; ONNX packs build their model here)."""
    from certifia_grading.adapters.sandbox import BwrapSandbox
    from certifia_grading.domain import Grader
    from certifia_grading.domain.testing import sample_submission

    return sample_submission(Grader(sandbox=BwrapSandbox()), pack_id, "reference")


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
