"""The HTTP service through FastAPI's TestClient (no network)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deepfake_detector import Detector
from deepfake_detector.serve import Service, create_app
from tests.conftest import ORIGINALS

FACE = sorted((ORIGINALS / "real").glob("*.jpg"))[0]


@pytest.fixture
def client(tiny_model: Path) -> TestClient:
    service = Service(Detector.load(tiny_model, device="cpu"))
    return TestClient(create_app(service, max_upload=1024 * 1024, max_video_upload=2 * 1024 * 1024))


def test_health_names_the_model(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["model"].startswith("tiny-model@") and body["threshold"] == 0.5


def test_predict_returns_score_label_faces_and_heatmap(client: TestClient) -> None:
    r = client.post("/v1/predict?explain=true", files={"file": ("face.jpg", FACE.read_bytes(), "image/jpeg")})
    assert r.status_code == 200
    j = r.json()
    assert 0 <= j["p_fake"] <= 1 and j["label"] in ("real", "fake") and j["threshold"] == 0.5
    assert len(j["faces"]) == 1 and len(j["faces"][0]["box"]) == 4 and (j["width"], j["height"]) == (1024, 1024)
    assert j["model"].startswith("tiny-model@") and len(j["heatmap_png"]) > 1000
    off = client.post("/v1/predict?faces=off", files={"file": ("f.jpg", FACE.read_bytes(), "image/jpeg")}).json()
    assert off["faces"] is None and "heatmap_png" not in off


@pytest.mark.parametrize(("files", "status", "words"), [
    ({"file": ("a.txt", b"hello", "text/plain")}, 415, "unsupported media type"),
    ({"file": ("a.jpg", b"hello", "image/jpeg")}, 400, "not an image"),
    ({"file": ("a.jpg", b"", "image/jpeg")}, 400, "empty"),
    ({"other": ("a.jpg", b"x", "image/jpeg")}, 400, "multipart form field named 'file'"),
    ({"file": ("a.jpg", b"\xff" * (1024 * 1024 + 1), "image/jpeg")}, 413, "larger than"),
])
def test_bad_uploads_get_clear_json_errors(client: TestClient, files: dict, status: int, words: str) -> None:
    r = client.post("/v1/predict", files=files)
    assert r.status_code == status and words in r.json()["error"]


def test_octet_stream_with_image_name_is_accepted(client: TestClient) -> None:
    r = client.post("/v1/predict?faces=off", files={"file": ("f.jpg", FACE.read_bytes(), "application/octet-stream")})
    assert r.status_code == 200


def test_huge_request_rejected_before_reading(client: TestClient) -> None:
    r = client.post("/v1/predict", content=b"x", headers={"content-length": str(50 * 1024 * 1024)})
    assert r.status_code == 413


def test_concurrent_requests_agree_and_never_overlap_in_the_model(tiny_model: Path) -> None:
    service = Service(Detector.load(tiny_model, device="cpu"))
    client = TestClient(create_app(service, max_upload=1024 * 1024, max_video_upload=2 * 1024 * 1024))
    data = FACE.read_bytes()
    active, peak, logits = [0], [0], service.predictor.logits
    guard = threading.Lock()

    def tracked(batch):  # counts callers inside the model at once (the service's lock must keep it at 1)
        with guard:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        try:
            return logits(batch)
        finally:
            with guard:
                active[0] -= 1

    service.predictor.logits = tracked

    def one(_: int) -> float:
        return client.post("/v1/predict?faces=off", files={"file": ("f.jpg", data, "image/jpeg")}).json()["p_fake"]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(8)))
    assert len(set(results)) == 1 and peak[0] == 1


def test_page_has_an_upload_form(client: TestClient) -> None:
    page = client.get("/").text
    assert 'type="file"' in page and "/v1/predict" in page and "http" not in page.split("<script>")[0].lower()


def test_a_server_on_a_cached_onnx_export_imports_torch_only_for_a_heatmap(tmp_path: Path, monkeypatch) -> None:
    """Scoring through the torch-free predictor (ONNX export cached, CPU) imports no torch; the first heatmap
    loads the torch model. A fresh process, as a test process has torch imported already."""
    import json
    import subprocess
    import sys

    from deepfake_detector.inference.prediction import RESULT_COLUMNS

    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path / "cache"))
    (reference,) = Detector.load("fast", backend="onnx").predict([FACE], faces="auto")  # exports and caches
    code = """if True:
        import json, sys
        from fastapi.testclient import TestClient
        from deepfake_detector.inference.loading import load_predictor
        from deepfake_detector.serve import Service, create_app

        client = TestClient(create_app(Service(load_predictor("fast", "onnx"), threads=1)))
        files = {"file": ("face.jpg", open(sys.argv[1], "rb").read(), "image/jpeg")}
        answer = client.post("/v1/predict", files=files).json()
        health = client.get("/health").json()
        light = "torch" in sys.modules
        explained = client.post("/v1/predict?faces=off&explain=true", files=files).json()
        print(json.dumps({"answer": answer, "engine": health["inference_engine"], "torch": light,
                          "heatmap": len(explained.get("heatmap_png", "")), "torch_after": "torch" in sys.modules}))
    """
    done = subprocess.run([sys.executable, "-c", code, str(FACE)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not result["torch"] and result["engine"].startswith("onnxruntime")
    answer = result["answer"]
    assert {c.name for c in RESULT_COLUMNS} <= set(answer) and answer["inference_engine"] == result["engine"]
    assert abs(answer["p_fake"] - reference.p_fake) <= 1e-4 and len(answer["faces"]) == len(reference.faces) == 1
    assert result["heatmap"] > 1000 and result["torch_after"]
