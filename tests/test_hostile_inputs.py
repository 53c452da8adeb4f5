"""Odd and hostile inputs: each gets a clear one-line answer and never costs the other inputs their result
(issue: reliability, items 6-17), ending with one folder of every odd file through predict, evaluate,
train and the server."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from deepfake_detector import Detector
from deepfake_detector.cli import main
from deepfake_detector.config import load_config
from deepfake_detector.data.decode import read_image
from deepfake_detector.data.discovery import discover
from deepfake_detector.errors import DatasetError, ImageDecodeError
from deepfake_detector.evaluation.evaluate import evaluate
from deepfake_detector.serve import Service, create_app
from deepfake_detector.training import train

from .conftest import DATA_140K, REPO

REAL = sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test" / "real").glob("*.jpg"))
FAKE = sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test" / "fake").glob("*.jpg"))


def _save(image: Image.Image, path: Path, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def odd_files(folder: Path) -> dict[str, Path]:
    """Every odd kind of file the issue lists, made from real shared faces where an image is needed."""
    face = Image.open(REAL[0]).convert("RGB")
    gray16 = (np.asarray(face.convert("L"), dtype=np.uint16) * 257)
    exif = Image.Exif()
    exif[0x0112] = 6
    files = {
        "animated.gif": _save(face, folder / "animated.gif", save_all=True,
                              append_images=[Image.open(FAKE[0]).convert("RGB")]),
        "gray16.png": _save(Image.fromarray(gray16), folder / "gray16.png"),
        "rotated.webp": _save(face.rotate(90, expand=True), folder / "rotated.webp", exif=exif.tobytes()),
        "bomb.png": _save(Image.new("1", (20000, 20000)), folder / "bomb.png"),
        "tiny.png": _save(face.resize((1, 1)), folder / "tiny.png"),
        "truncated.jpg": folder / "truncated.jpg",
        "text.jpg": folder / "text.jpg",
        "loop.jpg": folder / "loop.jpg",
    }
    files["truncated.jpg"].write_bytes(REAL[1].read_bytes()[:2000])
    files["text.jpg"].write_text("not an image")
    os.symlink("loop.jpg", files["loop.jpg"])
    return files


@pytest.fixture(scope="module")
def odd(tmp_path_factory) -> dict[str, Path]:
    return odd_files(tmp_path_factory.mktemp("odd"))


def test_decompression_bombs_are_refused_from_the_header(odd, tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ImageDecodeError, match="megapixel"):
        read_image(odd["bomb.png"])
    tiff = _save(Image.new("1", (14000, 14000)), tmp_path / "big.tif", compression="group4")
    with pytest.raises(ImageDecodeError, match="big.tif: .*over (the )?50 megapixel"):
        read_image(tiff)
    monkeypatch.setenv("DEEPFAKE_DETECTOR_MAX_PIXELS", str(200 * 200))
    with pytest.raises(ImageDecodeError, match="over the 0.04 megapixel limit"):
        read_image(REAL[0])


def test_odd_formats_decode_like_their_plain_versions(odd) -> None:
    face = read_image(REAL[0])
    assert read_image(odd["animated.gif"]).shape == face.shape  # the first frame
    gray = read_image(odd["gray16.png"])
    assert gray.dtype == face.dtype and gray.shape == face.shape and 40 < gray.float().mean() < 220
    upright = read_image(odd["rotated.webp"])  # EXIF orientation 6 undoes the 90 degree turn
    assert upright.shape == face.shape and (upright.float() - face.float()).abs().mean() < 8


def test_in_memory_inputs_are_checked_one_by_one(tiny_model: Path) -> None:
    detector = Detector.load(tiny_model, device="cpu")
    hwc = np.asarray(Image.open(REAL[0]).convert("RGB"))
    items = [hwc, hwc.transpose(2, 0, 1).copy(), hwc.astype(np.float32), hwc[None], np.zeros((0, 0, 3), np.uint8),
             hwc[..., :1].copy(), "not/a/file.jpg"]
    out = detector.predict(items, faces="off")
    assert out[0].p_fake == pytest.approx(out[1].p_fake, abs=1e-6)  # 3xHxW is read as channels-first
    assert "float32" in out[2].error and "batch" in out[3].error and "empty" in out[4].error
    assert out[5].p_fake is not None and out[6].error and out[6].path == "not/a/file.jpg"
    assert all(p.error is None for p in (out[0], out[1], out[5]))


def test_a_tiny_image_is_scored_with_a_warning(odd, tiny_model: Path) -> None:
    detector = Detector.load(tiny_model, device="cpu")
    for faces in ("off", "auto"):
        (p,) = detector.predict([odd["tiny.png"]], faces=faces)
        assert p.p_fake is not None and "1x1 pixels" in p.warning


def test_csv_manifests_from_excel_and_with_gaps(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_bytes("\ufeffpath,label\n".encode() + f"{REAL[0]},real\n{FAKE[0]},fake\n".encode())
    assert len(discover(manifest).splits["all"]) == 2  # the BOM Excel writes is not part of the header
    manifest.write_text(f"path,label\n{REAL[0]},real\n{FAKE[0]}\n")
    with pytest.raises(DatasetError, match=r"m.csv:3: row needs both a path and a label"):
        discover(manifest)


@pytest.mark.parametrize(("override", "words"), [
    ("model.args.input_size=-5", "input_size must be"), ("model.args.dropout=2", "dropout must be"),
    ("model.args.channels=abc", "channels must be")])
def test_bad_model_arguments_are_one_line(override: str, words: str, tiny_dataset: Path, tmp_path: Path,
                                          capsys) -> None:
    args = ["train", "--config", str(REPO / "configs" / "seed-cnn.yaml"), "--data", str(tiny_dataset),
            "--out", str(tmp_path / "r"), "--quiet", override]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and words in err and "\n" not in err


def test_broken_model_folders_are_one_line(tiny_model: Path, tmp_path: Path, capsys) -> None:
    (tiny_model / "model.safetensors").write_bytes(b"garbage" * 10)
    (tiny_model / "model.json").write_text(json.dumps({k: v for k, v in json.loads(
        (tiny_model / "model.json").read_text()).items() if k != "weights_sha256"}))
    assert main(["predict", str(REAL[0]), "--model", str(tiny_model), "--faces", "off"]) == 2
    assert "not a readable weights file" in capsys.readouterr().err
    (tiny_model / "model.json").write_text("[1, 2]")
    assert main(["predict", str(REAL[0]), "--model", str(tiny_model)]) == 2
    assert "not model metadata" in capsys.readouterr().err


def test_bad_options_are_refused_before_any_work(tiny_model: Path, monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(REAL[0]), "--batch-size", "0"])
    assert exit_info.value.code == 2

    def no_work(*args, **kwargs):
        raise AssertionError("the model was loaded before the output name was checked")

    monkeypatch.setattr(Detector, "load", no_work)
    assert main(["predict", str(REAL[0]), "--output", "x.txt"]) == 2
    assert "must end in .csv or .json" in capsys.readouterr().err


@pytest.fixture
def client(tiny_model: Path) -> TestClient:
    service = Service(Detector.load(tiny_model, device="cpu"))
    return TestClient(create_app(service, max_upload=1024 * 1024, max_video_upload=2 * 1024 * 1024))


def test_server_errors_are_one_json_shape(client: TestClient, odd) -> None:
    for method, url in (("get", "/nothing"), ("put", "/v1/predict")):
        r = getattr(client, method)(url)
        assert r.status_code in (404, 405) and set(r.json()) == {"error"}
    r = client.post("/v1/predict", files={"file": ("bomb.png", odd["bomb.png"].read_bytes(), "image/png")})
    assert r.status_code == 422 and "megapixel" in r.json()["error"]  # understood, but over the limit


def test_chunked_upload_is_stopped_at_the_limit(tiny_model: Path) -> None:
    """A real server on loopback; 8 MB sent chunked (no Content-Length) against a 1 MB limit."""
    import http.client
    import threading

    import uvicorn

    inner = create_app(Service(Detector.load(tiny_model, device="cpu")), max_upload=1024 * 1024,
                       max_video_upload=1024 * 1024)
    received = [0]

    async def app(scope, receive, send):  # counts the body bytes the app pulled from the connection
        async def counting():
            message = await receive()
            received[0] += len(message.get("body", b""))
            return message

        await inner(scope, counting, send)

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):  # bounded wait for start-up
            if server.started:
                break
            threading.Event().wait(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.putrequest("POST", "/v1/predict")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.putheader("Content-Type", "multipart/form-data; boundary=b")
        conn.endheaders()
        head = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
                b"Content-Type: image/jpeg\r\n\r\n")
        sent = 0
        try:
            for chunk in [head] + [b"\xff" * 65536] * 128:
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            conn.send(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: it stopped reading
        response = conn.getresponse()
        assert response.status == 413 and "larger than 1 MB" in json.loads(response.read())["error"]
        assert received[0] < 2 * 1024 * 1024  # stopped at the limit, not after spooling all 8 MB
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_every_odd_file_through_every_command(tmp_path: Path, tiny_model: Path, client: TestClient) -> None:
    data = tmp_path / "data"
    odd = odd_files(data / "fake")
    for i, f in enumerate(REAL[:4] + FAKE[:4]):
        target = data / ("real" if f in REAL else "fake") / f"good{i}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.read_bytes())
    before = _digest(data)
    bad = {"bomb.png", "truncated.jpg", "text.jpg", "loop.jpg"}

    for faces in ("off", "auto"):
        out = tmp_path / f"predict-{faces}.json"
        assert main(["predict", str(data), "--model", str(tiny_model), "--faces", faces, "--output", str(out),
                     "--quiet"]) == 0
        rows = {Path(r["path"]).name: r for r in json.loads(out.read_text())["predictions"]}
        assert set(rows) == set(odd) | {f"good{i}.jpg" for i in range(8)}  # every file reported
        assert {n for n, r in rows.items() if r["error"]} == bad
        assert all(rows[n]["p_fake"] is not None for n in set(rows) - bad)

    result = evaluate(tiny_model, data, split="all", out_dir=tmp_path / "eval", progress=False)
    assert result.metrics["n"] == 12 and {Path(b.path).name for b in result.bad_files} == bad

    cfg = load_config(REPO / "configs" / "seed-cnn.yaml", ["model.args.input_size=32", "train.epochs=1",
                                                           "train.batch_size=4", f"data.path={data}"])
    run = train(cfg, tmp_path / "run", progress=False)
    assert {Path(b.path).name for b in run.bad_files} == bad and (tmp_path / "run" / "model.json").is_file()

    for name, path in odd.items():
        if name == "loop.jpg":
            continue  # cannot be read to be uploaded
        r = client.post("/v1/predict", files={"file": (name, path.read_bytes(), "application/octet-stream")})
        assert r.status_code in (200, 400, 422), (name, r.status_code)  # 422: over the pixel cap
        assert ("p_fake" in r.json()) == (name not in bad)
    assert _digest(data) == before  # nothing lost or changed
