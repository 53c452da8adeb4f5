"""ONNX export (round trip, parity check, dynamic batch) and the ONNX Runtime backend of Detector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from deepfake_detector.cli import main
from deepfake_detector.errors import ConfigError, ExportError
from deepfake_detector.inference import Detector, save_model
from deepfake_detector.inference import detector as detector_module
from deepfake_detector.inference.onnx_backend import META_KEY, OnnxBackend
from deepfake_detector.inference.onnx_export import cached_onnx_path, export_onnx
from deepfake_detector.models import create_model

from .conftest import DATA_140K

ARGS = {"input_size": 32, "channels": [8, 16], "dense": 16}


@pytest.fixture
def small_model(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_model(create_model("seed_cnn", **ARGS), tmp_path / "small", name="seed_cnn", args=ARGS, threshold=0.4)


def test_export_round_trip_dynamic_batch(small_model: Path, tmp_path: Path) -> None:
    detector = Detector.load(small_model, device="cpu")
    result = export_onnx(detector.model, detector.meta, tmp_path / "m.onnx")
    assert result.path.is_file() and result.max_abs_diff <= 1e-4
    batch = torch.rand(5, 3, 32, 32)  # another batch size than the export's
    backend = OnnxBackend(result.path)
    with torch.inference_mode():
        expected = detector.model(batch)
    assert (backend(batch) - expected).abs().max() <= 1e-4
    assert json.loads(backend.metadata[META_KEY])["threshold"] == 0.4


def test_a_combined_model_with_test_time_views_exports_and_matches_torch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    members = [{"name": "seed_cnn", "args": ARGS},
               {"name": "seed_cnn", "args": ARGS, "views": ["original", "flip", "zoom0.9", "zoom0.9+flip"]}]
    folder = save_model(create_model("max_of_models", members=members), tmp_path / "combined",
                        name="max_of_models", args={"members": members}, threshold=0.5)
    detector = Detector.load(folder, device="cpu")
    result = export_onnx(detector.model, detector.meta, tmp_path / "m.onnx")  # the parity check runs in here
    batch = torch.rand(5, 3, 32, 32)
    with torch.inference_mode():
        expected = detector.model(batch)
    assert (OnnxBackend(result.path)(batch) - expected).abs().max() <= 1e-4


def test_export_refuses_a_mismatch(small_model: Path, tmp_path: Path) -> None:
    detector = Detector.load(small_model, device="cpu")
    with pytest.raises(ExportError, match="does not match PyTorch"):
        export_onnx(detector.model, detector.meta, tmp_path / "m.onnx", tolerance=-1.0)
    assert not (tmp_path / "m.onnx").exists()


def test_onnx_backend_matches_torch_on_real_images(trained_run, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path / "cache"))
    folder = trained_run.out_dir
    files = sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test").rglob("*.jpg"))[::8]
    before = sorted(p.name for p in folder.iterdir())
    torch_preds = Detector.load(folder, device="cpu").predict(files, faces="off")
    onnx_detector = Detector.load(folder, backend="onnx")
    onnx_preds = onnx_detector.predict(files, faces="off")
    assert [p.label for p in onnx_preds] == [p.label for p in torch_preds]
    assert max(abs(a.p_fake - b.p_fake) for a, b in zip(onnx_preds, torch_preds, strict=True)) <= 1e-4
    onnx_file = cached_onnx_path(folder)
    stamp = onnx_file.stat().st_mtime_ns
    Detector.load(folder, backend="onnx")  # up to date: reused, not exported again
    assert onnx_file.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in folder.iterdir()) == before  # the export lives in the cache, not the model folder


def test_cli_export_and_predict_with_onnx(small_model: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path / "cache"))
    assert main(["export", str(small_model), "--onnx", str(tmp_path / "out.onnx")]) == 0
    assert (tmp_path / "out.onnx").is_file()
    image = next((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test" / "fake").glob("*.jpg"))
    assert main(["predict", "--model", str(small_model), "--backend", "onnx", str(image), "--quiet"]) == 0
    assert "1 file(s)" in capsys.readouterr().out


def test_unknown_backend(small_model: Path) -> None:
    with pytest.raises(ConfigError, match="unknown backend"):
        Detector.load(small_model, backend="tensorrt")


def test_auto_backend_uses_onnx_on_cpu_and_falls_back_to_torch(small_model: Path, tmp_path: Path,
                                                               monkeypatch) -> None:
    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path / "cache"))
    # a CPU without bf16 / int8 hardware (flags injected): there auto means ONNX Runtime, not OpenVINO
    monkeypatch.setattr(detector_module, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    batch = torch.rand(3, 3, 32, 32)
    reference = Detector.load(small_model, device="cpu").scores(batch)
    auto = Detector.load(small_model, device="cpu", backend="auto")
    assert isinstance(auto.runner, OnnxBackend)
    torch.testing.assert_close(auto.scores(batch), reference, atol=1e-5, rtol=0)

    from deepfake_detector.inference import onnx_export

    def refuse(*args, **kwargs):
        raise ExportError("ONNX export does not match PyTorch")

    monkeypatch.setattr(onnx_export, "load_onnx_backend", refuse)
    fallback = Detector.load(small_model, device="cpu", backend="auto")
    assert fallback.runner is None
    torch.testing.assert_close(fallback.scores(batch), reference)
    with pytest.raises(ExportError):
        Detector.load(small_model, device="cpu", backend="onnx")
