"""TritonRepositoryInference against a real tritonserver: PyTriton's bundled binary, started on its own
(LocalTritonServer, 127.0.0.1) in explicit model-control mode on a temporary model repository, with the
Python backend (the only one the wheel ships) running the trusted triton_onnx_model.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from onnx import TensorProto, helper

from certifia_grading.adapters.triton_local import LocalTritonServer
from certifia_grading.adapters.triton_repository import PYTHON_MODEL_FILE, TritonRepositoryInference
from certifia_grading.bootstrap import grading_readiness, make_grader
from certifia_grading.config import Settings

pytestmark = pytest.mark.integration


# the classifier fixtures (classifier, classifier_data, ...) are in conftest.py


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("triton-models")


@pytest.fixture(scope="module")
def server(repository: Path) -> Iterator[LocalTritonServer]:
    with LocalTritonServer(repository) as local:
        yield local


@pytest.fixture(scope="module")
def triton(server: LocalTritonServer, repository: Path) -> Iterator[TritonRepositoryInference]:
    with TritonRepositoryInference(
        url=server.url, model_repository=repository, backend="python", max_batch_size=64
    ) as backend:
        yield backend


def ready_models(server: LocalTritonServer) -> set[str]:
    index = httpx.post(f"{server.url}/v2/repository/index", json={"ready": True}).json()
    return {m["name"] for m in index}


def model_folders(repository: Path) -> set[str]:
    return {p.name for p in repository.iterdir()}


def stats(server: LocalTritonServer, name: str) -> tuple[int, int]:
    """(rows inferred, model executions) so far: fewer executions than rows means requests were merged."""
    [entry] = httpx.get(f"{server.url}/v2/models/{name}/stats").json()["model_stats"]
    return entry["inference_count"], entry["execution_count"]


def test_server_listens_on_loopback_only_and_readiness_follows_it(
    server: LocalTritonServer, repository: Path
) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    log = server.log()
    assert "Started HTTPService at 127.0.0.1:" in log and "Started GRPCInferenceService at 127.0.0.1:" in log
    assert "0.0.0.0" not in log
    settings = Settings(
        use_triton=True,
        triton_url=server.url,
        triton_model_repository=str(repository),
        triton_backend="python",
    )
    engine = make_grader(settings)
    assert isinstance(engine.inference, TritonRepositoryInference)
    assert grading_readiness(settings, engine) == {"triton": "ok"}


def test_predictions_equal_onnxruntime_and_sklearn(
    triton: TritonRepositoryInference,
    server: LocalTritonServer,
    repository: Path,
    classifier,
    classifier_data,
    check_classifier_outputs,
) -> None:
    _, onnx_bytes = classifier
    check_classifier_outputs(triton.predict(onnx_bytes, {"X": classifier_data[0]}))

    # what the server was given: the model folder, whole, and the config it parsed
    name = triton.model_name(onnx_bytes)
    assert triton.loaded_models == [name] and name in ready_models(server)
    assert model_folders(repository) == {name}  # no staging folder left behind
    assert (repository / name / "1" / "model.onnx").read_bytes() == onnx_bytes
    assert (repository / name / "1" / "model.py").read_bytes() == PYTHON_MODEL_FILE.read_bytes()
    config = httpx.get(f"{server.url}/v2/models/{name}/config").json()
    assert (config["backend"], config["max_batch_size"]) == ("python", 64)
    assert config["dynamic_batching"]["max_queue_delay_microseconds"] == 500
    assert [(o["name"], o["data_type"], o["dims"]) for o in config["output"]] == [
        ("label", "TYPE_INT64", [1]),
        ("probabilities", "TYPE_FP32", [2]),
    ]


def test_dynamic_batching_merges_single_rows_and_agrees_with_one_big_request(
    triton: TritonRepositoryInference, server: LocalTritonServer, classifier, classifier_data
) -> None:
    _, onnx_bytes = classifier
    x = classifier_data[0][:80]
    batched = triton.predict(onnx_bytes, {"X": x})
    name = triton.model_name(onnx_bytes)
    rows_before, executions_before = stats(server, name)
    merged = triton.predict(onnx_bytes, {"X": x}, request_rows=1)  # 80 requests of one row
    rows, executions = stats(server, name)
    assert rows - rows_before == 80
    assert executions - executions_before < 80  # the batcher ran several requests at once
    one_by_one = triton.predict_one_by_one(onnx_bytes, {"X": x})
    for other in (merged, one_by_one):
        np.testing.assert_array_equal(other["label"], batched["label"])
        np.testing.assert_allclose(other["probabilities"], batched["probabilities"], rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def rank_one_model(onnx_model_bytes) -> bytes:
    """y = 2x + 1 on x of shape [N]; s passes strings of shape [N] through."""
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "two"], ["x2"]),
            helper.make_node("Add", ["x2", "one"], ["y"]),
            helper.make_node("Identity", ["s"], ["s_out"]),
        ],
        "rank_one",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"]),
            helper.make_tensor_value_info("s", TensorProto.STRING, ["N"]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"]),
            helper.make_tensor_value_info("s_out", TensorProto.STRING, ["N"]),
        ],
        initializer=[
            helper.make_tensor("two", TensorProto.FLOAT, [], [2.0]),
            helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
        ],
    )
    return onnx_model_bytes(graph)


def test_a_model_with_rank_one_inputs_and_outputs(triton: TritonRepositoryInference, rank_one_model) -> None:
    x = np.arange(50, dtype=np.float32) / 7
    s = np.array([f"ligne-{i}-é" for i in range(50)], dtype=object)
    for request_rows in (None, 1, 7):
        out = triton.predict(rank_one_model, {"x": x, "s": s}, request_rows=request_rows)
        np.testing.assert_array_equal(out["y"], 2 * x + 1)
        assert out["y"].shape == (50,) and out["s_out"].tolist() == s.tolist()


def test_least_recent_models_are_unloaded_beyond_the_limit_and_reload_on_demand(
    server: LocalTritonServer, repository: Path, classifier_onnx, classifier_data
) -> None:
    x, _ = classifier_data
    # not C=1.0: that is the classifier fixture, loaded on the same server by the module's adapter
    models = [classifier_onnx(C=c) for c in (0.01, 0.1, 0.3)]
    with TritonRepositoryInference(
        url=server.url, model_repository=repository, backend="python", max_models=2
    ) as backend:
        names = [backend.model_name(m) for m in models]
        first = backend.predict(models[0], {"X": x})
        for model in models[1:]:
            backend.predict(model, {"X": x})
        assert backend.loaded_models == sorted(names[1:])
        ready, folders = ready_models(server), model_folders(repository)
        assert names[0] not in ready and names[0] not in folders
        assert set(names[1:]) <= ready and set(names[1:]) <= folders

        again = backend.predict(models[0], {"X": x})  # reloaded under the same name
        np.testing.assert_array_equal(again["label"], first["label"])
        np.testing.assert_array_equal(again["probabilities"], first["probabilities"])
        assert backend.loaded_models == sorted(names[::2])
        ready, folders = ready_models(server), model_folders(repository)
        assert names[1] not in ready and names[1] not in folders and {names[0], names[2]} <= ready
    # closing unloads what this adapter loaded and deletes its folders
    assert not set(names) & (ready_models(server) | model_folders(repository))


def test_a_model_with_non_tensor_outputs_is_refused_before_anything_is_written(
    triton: TritonRepositoryInference, repository: Path, classifier_onnx, classifier_data
) -> None:
    folders, loaded = model_folders(repository), triton.loaded_models
    with pytest.raises(ValueError, match="zipmap=False"):
        triton.predict(classifier_onnx(zipmap=True), {"X": classifier_data[0]})
    assert model_folders(repository) == folders and triton.loaded_models == loaded


def test_latency_is_reported_with_where_the_server_ran_the_model(
    triton: TritonRepositoryInference, classifier, classifier_data
) -> None:
    _, onnx_bytes = classifier
    report = triton.measure_latency(
        onnx_bytes, {"X": classifier_data[0]}, warmup=2, requests=20, batch_size=4
    )
    assert 0 < report.p50_ms <= report.p95_ms < 2000
    assert (report.device, report.ort_threads, report.batch_size, report.max_batch_size) == ("cpu", 1, 4, 64)


def test_the_server_parses_the_onnxruntime_config_and_lacks_only_the_backend(
    server: LocalTritonServer, repository: Path, classifier_onnx, classifier_data
) -> None:
    """The wheel has no onnxruntime backend: loading gets as far as looking for it, past the config."""
    x, _ = classifier_data
    # a model of its own: one digest is one folder and one server name, whichever adapter loads it
    onnx_bytes = classifier_onnx(C=0.5)
    with TritonRepositoryInference(url=server.url, model_repository=repository) as backend:
        with pytest.raises(RuntimeError) as refused:
            backend.predict(onnx_bytes, {"X": x})
        assert "unable to find backend library for backend 'onnxruntime'" in str(refused.value)
        assert backend.loaded_models == [] and backend.model_name(onnx_bytes) not in model_folders(repository)

    # the contrast: a config the server cannot parse fails earlier, with another message
    broken = repository / "broken"
    (broken / "1").mkdir(parents=True)
    (broken / "config.pbtxt").write_text('backend: "onnxruntime"\nmax_batch_size: 4\ninput [ { name: ')
    answer = httpx.post(f"{server.url}/v2/repository/models/broken/load")
    assert answer.status_code != 200 and "backend library" not in answer.json()["error"]
    assert "failed to poll from model repository" in answer.json()["error"]
    shutil.rmtree(broken)


def test_running_is_whether_the_server_answers_and_start_checks_the_repository(
    server: LocalTritonServer, tmp_path: Path
) -> None:
    live = TritonRepositoryInference(url=server.url, model_repository=tmp_path)
    assert live.running  # after the failed onnxruntime load above too: the server runs non-strict readiness
    nobody = TritonRepositoryInference(url="http://127.0.0.1:9", model_repository=tmp_path, timeout_s=0.5)
    assert not nobody.running
    with pytest.raises(RuntimeError, match="not ready"):
        nobody.start()
    missing = TritonRepositoryInference(url=server.url, model_repository=tmp_path / "missing")
    with pytest.raises(RuntimeError, match="not a folder"):
        missing.start()
