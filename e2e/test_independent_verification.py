"""What an employer does without our server's word, on the running stack: the diploma, one bloc certificate,
the issuer's controller document (/.well-known/did.json) and the status list, all fetched from the stack,
checked by Digital Bazaar's eddsa-rdfc-2022 verifier (services/certification/tools, offline); once the diploma
is revoked (or a bloc certificate suspended), the same verifier refuses it from the status lists alone."""

from __future__ import annotations

from typing import Any

import independent_verification as iv  # scripts/ (on sys.path once conftest loaded the demo)
import pytest

pytestmark = pytest.mark.e2e


def test_the_independent_verifier_accepts_the_stacks_credentials_and_refuses_the_revoked_diploma(
    stack: Any, demo: Any
) -> None:
    missing = iv.missing_verifier()
    if missing:
        pytest.skip(missing)
    result = demo.run(option="5B")
    assert result["verification"]["valid"] is True
    assert result["independent"]["diploma"].verified is True, result["independent"]["diploma"].detail
    assert result["independent"]["bloc_certificate"].verified is True

    cid, diploma_id = result["candidate_id"], result["diploma_id"]
    certification = stack.url("certification")
    me = demo.headers("candidate", candidate_id=cid)
    diploma = demo.call("GET", "certification", f"/candidates/{cid}/diploma", headers=me)["credential"]
    progress = demo.call("GET", "certification", f"/candidates/{cid}/progress", headers=me)
    assert [c["bloc"] for c in progress["certificates"]] == ["1", "2", "3", "4", "5B"]
    certificate_id = progress["certificates"][-1]["certificate_id"]
    certificate = demo.call(
        "GET", "certification", f"/bloc-certificates/{certificate_id}/credential", headers=me
    )
    assert [e["id"] for e in diploma["evidence"]][-1] == certificate["id"]

    for credential in (diploma, certificate):
        checked = iv.fetch_and_verify(demo.http, certification, credential)
        assert checked.verified is True, checked.detail

    # suspended (an appeal or an investigation runs): refused from the suspension list, then lifted
    officer = demo.headers("officer")
    suspension = f"/bloc-certificates/{certificate_id}/suspension"
    demo.call("POST", "certification", suspension, headers=officer, json={"reason": "Enquête en cours."})
    checked = iv.fetch_and_verify(demo.http, certification, certificate)
    assert checked.verified is False and "suspension" in checked.detail, checked.detail
    demo.call(
        "POST", "certification", suspension + "/lift", headers=officer, json={"reason": "Enquête close."}
    )
    assert iv.fetch_and_verify(demo.http, certification, certificate).verified is True

    demo.call(
        "POST",
        "certification",
        f"/diplomas/{diploma_id}/revocation",
        headers=demo.headers("officer"),
        json={"reason": "Fraude constatée après délivrance."},
    )
    checked = iv.fetch_and_verify(demo.http, certification, diploma)
    assert checked.verified is False and "revocation" in checked.detail, checked.detail
    # a bloc certificate stands on its own: revoking the diploma does not revoke it
    assert iv.fetch_and_verify(demo.http, certification, certificate).verified is True
