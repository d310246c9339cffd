"""Hidden data that is hidden (issue 12, item 3), on the real sandbox.

Measured before: b2_supervised_onnx, b5a_digits_vision and b5b_model_compression split scikit-learn's
bundled datasets with the seed ``/packs`` published, so a lookup table memorising the public dataset
validated every criterion at 1.0; the synthetic packs were deterministic from that seed and the public
pack source. Now every hidden set, perturbation and synthetic dataset derives from the deployment's
grading secret (``domain.hidden``), a public row is never a hidden row, ``/packs`` publishes a commitment
to the derived seed instead of the seed, and an auditor holding the secret reproduces a verdict.

Here, what runs the sandbox or a child process; tests/unit/test_hidden_data.py has the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_breast_cancer, load_digits

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.testing import sample_submission, zip_files

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

SKLEARN_PACKS = ("b2_supervised_onnx", "b5a_digits_vision", "b5b_model_compression")
SECRET_A = "audit-secret-a-" + "a" * 40
SECRET_B = "audit-secret-b-" + "b" * 40
ENGINE = Grader(sandbox=BwrapSandbox())


def public_dataset(pack_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The FULL public dataset the pack draws from, as a candidate loads it (labels as the pack encodes them)."""
    if pack_id == "b2_supervised_onnx":
        data = load_breast_cancer()
        return data.data.astype(np.float32), (1 - data.target).astype(np.int64)
    data = load_digits()
    return data.data.astype(np.float32), data.target.astype(np.int64)


def lookup_table_model(table: np.ndarray, labels: np.ndarray, classes: int) -> bytes:
    """An ONNX "model" that learnt nothing: a hash table of the public rows. Each row's key is its dot
    product with a fixed random vector; an input row whose key equals a stored key (to 1e-5 relative,
    float32's rounding) gets that row's label, any other row class 0."""
    weights = np.random.default_rng(0).normal(size=(table.shape[1], 1)).astype(np.float32)
    keys = (table.astype(np.float32) @ weights).reshape(-1)
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["key"]),  # [N, 1]
        helper.make_node("Sub", ["key", "K"], ["diff"]),  # [N, M]
        helper.make_node("Abs", ["diff"], ["adiff"]),
        helper.make_node("Div", ["adiff", "tol"], ["rel"]),
        helper.make_node("ReduceMin", ["rel"], ["best"], axes=[1], keepdims=0),  # [N]
        helper.make_node("ArgMin", ["rel"], ["row"], axis=1, keepdims=0),
        helper.make_node("Gather", ["L", "row"], ["stored"]),
        helper.make_node("Less", ["best", "one"], ["matched"]),
        helper.make_node("Where", ["matched", "stored", "zero"], ["label"]),
        helper.make_node("OneHot", ["label", "depth", "onoff"], ["probabilities"], axis=-1),
    ]
    inits = [
        numpy_helper.from_array(weights, "W"),
        numpy_helper.from_array(keys[None, :], "K"),
        numpy_helper.from_array((1e-5 * (np.abs(keys) + 1.0))[None, :].astype(np.float32), "tol"),
        numpy_helper.from_array(labels.astype(np.int64), "L"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array(classes, dtype=np.int64), "depth"),
        numpy_helper.from_array(np.array([0.0, 1.0], dtype=np.float32), "onoff"),
    ]
    graph = helper.make_graph(
        nodes,
        "lookup",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, table.shape[1]])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, classes]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def same_data(left: dict[str, Any], right: dict[str, Any]) -> bool:
    if set(left) != set(right):
        return False
    for key in left:
        a, b = left[key], right[key]
        if hasattr(a, "equals"):  # a pandas frame (NaN equal to NaN)
            if not a.equals(b):
                return False
        elif isinstance(a, np.ndarray):
            if not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                return False
        elif json.dumps(left[key], sort_keys=True, default=str) != json.dumps(
            right[key], sort_keys=True, default=str
        ):
            return False
    return True


# -- measured before: the hidden sets were the public datasets ------------------------------------------
@pytest.mark.parametrize("pack_id", SKLEARN_PACKS)
def test_a_lookup_table_of_the_full_public_dataset_no_longer_validates(pack_id: str) -> None:
    x, y = public_dataset(pack_id)
    classes = 2 if pack_id == "b2_supervised_onnx" else 10
    outcome = ENGINE.grade(pack_id, zip_files({"model.onnx": lookup_table_model(x, y, classes)}))
    assert outcome.failed_reason is None, outcome.failed_reason
    # before: 1.0 on every metric, every criterion validated
    assert outcome.metrics["accuracy"] < 0.7, outcome.metrics
    answers = {"accuracy", "accuracy_kept", "fidelity", "f1", "recall", "roc_auc", "worst_class_f1"}
    judged_on_answers = {
        c.id for c in ENGINE.spec(pack_id).criteria if any(k.metric in answers for k in c.checks)
    }
    verdicts = {c.criterion_id: c.verdict for c in outcome.criteria}
    assert judged_on_answers and all(verdicts[c] == "rejected" for c in judged_on_answers), verdicts
    if pack_id != "b5b_model_compression":  # b5b's size and latency criteria do not look at answers
        assert all(c.verdict == "rejected" for c in outcome.criteria)


def test_packs_publish_a_commitment_to_the_derived_seed_not_the_seed(tmp_path: Path) -> None:
    from certifia_grading.bootstrap import create_application
    from certifia_grading.config import Settings
    from certifia_shared.testing import auth

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'grading.db'}",
        run_background_workers=False,
        grading_secret=SECRET_A,
    )
    app = create_application(settings)
    with TestClient(app) as client:
        listed = client.get("/packs", headers=auth("candidate", candidate_id="cand-1")).json()
        one = client.get("/packs/b2_supervised_onnx", headers=auth("lms")).json()
    app.state.ctx.db_engine.dispose()
    assert listed and one in listed
    assert not [p["id"] for p in listed if "dataset_seed" in p]  # before: the seed of the hidden split
    from certifia_grading.domain import hidden

    for pack in listed:
        spec = ENGINE.spec(pack["id"])
        key = hidden.derive_key(SECRET_A.encode(), spec.id, spec.version, spec.seed)
        assert pack["dataset_commitment"] == hidden.commitment(key)
        assert pack["dataset_commitment"] == hashlib.sha256(hidden.COMMITMENT_LABEL + key).hexdigest()
        assert str(int.from_bytes(key, "big")) not in json.dumps(pack)


def test_the_secret_is_never_logged_nor_in_an_outcome(caplog: Any) -> None:
    engine = Grader(secret=SECRET_A, sandbox=BwrapSandbox())
    caplog.set_level(logging.DEBUG)
    outcome = engine.grade("b2_supervised_onnx", sample_submission(engine, "b2_supervised_onnx"))
    seed = str(engine.hidden_seed("b2_supervised_onnx"))
    for text in (caplog.text, json.dumps(outcome.to_dict()), repr(engine)):
        assert SECRET_A not in text and seed not in text
    assert outcome.dataset_seed == ENGINE.spec("b2_supervised_onnx").seed  # the pack's public seed
    assert outcome.dataset_commitment == engine.commitment("b2_supervised_onnx")


# -- honest and weak submissions, whatever the secret ------------------------------------------------------
@pytest.mark.parametrize("pack_id", ("b2_supervised_onnx", "b5a_digits_vision"))
def test_references_validate_and_weak_ones_fail_under_other_secrets(pack_id: str) -> None:
    for n in range(2):
        engine = Grader(secret=f"another-deployment-{n}-" + "x" * 32, sandbox=BwrapSandbox())
        reference = engine.grade(pack_id, sample_submission(engine, pack_id, "reference"))
        assert [c.verdict for c in reference.criteria] == ["validated"] * len(reference.criteria), (
            n,
            reference.metrics,
        )
        weak = engine.grade(pack_id, sample_submission(engine, pack_id, "weak"))
        assert any(c.verdict == "rejected" for c in weak.criteria), (n, weak.metrics)


def test_the_dataset_cache_keys_on_the_derived_seed() -> None:
    a, b = Grader(secret=SECRET_A, sandbox=BwrapSandbox()), Grader(secret=SECRET_B, sandbox=BwrapSandbox())
    for pack_id in ("b2_supervised_onnx", "b2_timeseries_gaps"):
        assert a.hidden_seed(pack_id) != b.hidden_seed(pack_id)
        assert not same_data(a.dataset(pack_id).inputs, b.dataset(pack_id).inputs), pack_id
        assert same_data(
            a.dataset(pack_id).inputs, Grader(secret=SECRET_A, sandbox=BwrapSandbox()).dataset(pack_id).inputs
        )
    # what a candidate trains on derives from the public seed alone: the same in every deployment
    pa, pb = a.dataset("b2_supervised_onnx").public, b.dataset("b2_supervised_onnx").public
    np.testing.assert_array_equal(pa["X_train"], pb["X_train"])
    ta, tb = a.dataset("b5b_model_compression").public, b.dataset("b5b_model_compression").public
    assert ta["teacher_model"] == tb["teacher_model"]
    np.testing.assert_array_equal(ta["X_transfer"], tb["X_transfer"])


# -- the auditor -------------------------------------------------------------------------------------------
def test_an_auditor_with_the_secret_reproduces_the_verdict_another_secret_does_not() -> None:
    from certifia_grading import audit

    service = Grader(secret=SECRET_A, sandbox=BwrapSandbox())
    archive = sample_submission(service, "b5a_digits_vision", "weak")
    verdict = service.grade("b5a_digits_vision", archive)
    report = audit.reproduce(
        "b5a_digits_vision", archive, SECRET_A.encode(), commitment=verdict.dataset_commitment
    )
    assert report.commitment_matches and report.outcome.reproducible_view() == verdict.reproducible_view()
    other = audit.reproduce(
        "b5a_digits_vision", archive, SECRET_B.encode(), commitment=verdict.dataset_commitment
    )
    assert not other.commitment_matches
    assert other.outcome.dataset_commitment != verdict.dataset_commitment
    assert other.outcome.metrics != verdict.metrics  # other hidden images, other scores
    assert not same_data(
        Grader(secret=SECRET_B, sandbox=BwrapSandbox()).dataset("b5a_digits_vision").inputs,
        service.dataset("b5a_digits_vision").inputs,
    )


def test_the_audit_command_reads_the_secret_from_a_file_and_checks_the_commitment(tmp_path: Path) -> None:
    engine = Grader(secret=SECRET_A, sandbox=BwrapSandbox())
    archive = tmp_path / "submission.zip"
    archive.write_bytes(sample_submission(engine, "b2_supervised_onnx"))
    secret_file = tmp_path / "grading-secret"
    secret_file.write_text(SECRET_A + "\n")
    secret_file.chmod(0o600)
    expected = engine.grade("b2_supervised_onnx", archive.read_bytes())
    env = {k: v for k, v in os.environ.items() if k != "GRADING_SECRET"}

    def audit(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "certifia_grading.audit", "b2_supervised_onnx", str(archive), *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)

    done = audit("--secret-file", str(secret_file), "--commitment", expected.dataset_commitment)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["commitment_matches"] is True
    assert report["verdict"] == json.loads(json.dumps(expected.reproducible_view()))
    assert SECRET_A not in done.stdout + done.stderr
    secret_file.write_text(SECRET_B)
    refused = audit("--secret-file", str(secret_file), "--commitment", expected.dataset_commitment)
    assert refused.returncode == 1 and json.loads(refused.stdout)["commitment_matches"] is False


# -- what the events carry ---------------------------------------------------------------------------------
def test_grading_completed_carries_the_public_seed_and_the_commitment() -> None:
    from certifia_grading.service_layer.jobs import completed_payload, failed_payload
    from certifia_shared.contracts import contract

    engine = Grader(secret=SECRET_A, sandbox=BwrapSandbox())
    outcome = engine.grade("b2_supervised_onnx", sample_submission(engine, "b2_supervised_onnx", "weak"))
    job = {"submission_id": "sub-1", "candidate_id": "cand-1", "pack_id": "b2_supervised_onnx"}
    payload = completed_payload(job, outcome)
    assert payload["dataset_seed"] == engine.spec("b2_supervised_onnx").seed
    assert payload["dataset_commitment"] == engine.commitment("b2_supervised_onnx")
    for event_type in (
        "fr.certifia.grading.grading.completed.v2",
        "fr.certifia.grading.grading.completed.v1",
    ):
        contract(event_type).validate(payload)
    failed = failed_payload({**job, "artifact": {"sha256": "a" * 64}}, "bad archive", outcome)
    assert failed["dataset_commitment"] == payload["dataset_commitment"]
    contract("fr.certifia.grading.grading.failed.v1").validate(failed)


def test_a_worker_with_another_secret_is_an_infrastructure_error() -> None:
    from certifia_grading.bootstrap import SameHiddenData

    service = Grader(secret=SECRET_A, sandbox=BwrapSandbox())
    archive = sample_submission(service, "b2_supervised_onnx", "weak")

    def elsewhere(pack_id: str, archive: bytes, **kw: Any) -> Any:  # a Ray worker with another secret
        return Grader(secret=SECRET_B, sandbox=BwrapSandbox()).grade(pack_id, archive, **kw)

    with pytest.raises(RuntimeError, match="another grading secret"):
        SameHiddenData(service, elsewhere)("b2_supervised_onnx", archive)
    same = SameHiddenData(
        service, lambda p, a, **kw: Grader(secret=SECRET_A, sandbox=BwrapSandbox()).grade(p, a, **kw)
    )
    assert same("b2_supervised_onnx", archive).dataset_commitment == service.commitment("b2_supervised_onnx")
