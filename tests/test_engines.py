"""CPU engines: the choice from CPU flags (injected), the self-test that keeps or rejects a reduced-precision engine,
the fallback with its reason, the converted-model cache, and every output naming the engine that scored.

Nothing here measures speed or depends on the CPU it runs on: flags are injected and OpenVINO's outputs are
compared with ONNX Runtime's only through the self-test's own tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_detector.errors import ConfigError
from deepfake_detector.inference import Detector, save_model
from deepfake_detector.inference.cpu_features import choose_precision, cpu_flags
from deepfake_detector.inference.engine import Engine
from deepfake_detector.inference.engine_choice import DEFAULT, EnginePlan, open_engine, plan_engine
from deepfake_detector.inference.onnx_backend import OnnxBackend
from deepfake_detector.inference.onnx_export import load_onnx_backend
from deepfake_detector.inference.openvino_backend import OpenVinoBackend, convert, ir_folder
from deepfake_detector.inference.self_test import SelfTest, probe_images, reference_path, self_test
from deepfake_detector.inference.verdict import VerdictRule
from deepfake_detector.models import create_model

from .conftest import write_image

SAPPHIRE_RAPIDS = {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile"}
ZEN4 = {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}
CASCADE_LAKE = {"avx2", "avx512f", "avx512_vnni"}
AVX2_ONLY = {"avx2", "fma", "f16c"}
ARGS = {"input_size": 32, "channels": [8, 16], "dense": 16}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DEEPFAKE_DETECTOR_CALIBRATION", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def small_model(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_model(create_model("seed_cnn", **ARGS), tmp_path / "small", name="seed_cnn", args=ARGS, threshold=0.4)


@pytest.fixture
def exported(small_model: Path, cache: Path) -> tuple[Path, dict]:
    """The small model's cached ONNX export and its model.json."""
    detector = Detector.load(small_model, device="cpu")
    return load_onnx_backend(detector.model, detector.meta, small_model).path, detector.meta


def perturb(monkeypatch, shift: float) -> None:
    """Every OpenVINO engine answers logits + ``shift``: a reduced-precision engine gone wrong."""
    original = OpenVinoBackend.run
    monkeypatch.setattr(OpenVinoBackend, "run", lambda self, batch: original(self, batch) + np.float32(shift))


@pytest.mark.parametrize(("flags", "precision"), [(SAPPHIRE_RAPIDS, "bf16"), (ZEN4, "bf16"), (CASCADE_LAKE, "int8"),
                                                  ({"avx_vnni", "avx2"}, "int8"), (AVX2_ONLY, "fp32"), (set(), "fp32")])
def test_precision_is_chosen_from_the_cpu_flags(flags: set[str], precision: str) -> None:
    choice = choose_precision(frozenset(flags))
    assert choice.precision == precision and choice.reason.startswith("CPU has")


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 avx2 amx_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(info) == {"fpu", "sse2", "avx2", "amx_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_plan_keeps_todays_engine_where_the_cpu_has_no_bf16_or_int8_hardware() -> None:
    assert plan_engine("auto", AVX2_ONLY, gpu=False).backend == DEFAULT
    assert plan_engine("auto", SAPPHIRE_RAPIDS, gpu=True).backend == DEFAULT  # a GPU: PyTorch on it, as before
    assert plan_engine("auto", SAPPHIRE_RAPIDS, gpu=False) == EnginePlan("openvino", "bf16",
                                                                         "CPU has amx_bf16, avx512_bf16")
    assert plan_engine("auto", CASCADE_LAKE, gpu=False).precision == "int8"
    assert plan_engine("openvino", AVX2_ONLY, gpu=False).precision == "fp32"
    assert plan_engine("openvino-bf16", AVX2_ONLY, gpu=False).precision == "bf16"
    assert plan_engine("openvino", CASCADE_LAKE, gpu=False).forced and not plan_engine("auto", CASCADE_LAKE,
                                                                                          gpu=False).forced
    assert plan_engine("torch", SAPPHIRE_RAPIDS, gpu=False).backend == "torch"
    with pytest.raises(ConfigError, match="unknown backend"):
        plan_engine("tensorrt", AVX2_ONLY, gpu=False)


def test_probes_are_deterministic_synthetic_images() -> None:
    a, b = probe_images((32, 48)), probe_images((32, 48))
    assert a.shape == (6, 32, 48, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert len({im.tobytes() for im in a}) == 6


class Fixed(Engine):
    name = "fixed"

    def __init__(self, logits: list[float]) -> None:
        self.logits = np.array(logits, dtype=np.float32)

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.logits


def test_self_test_tolerance_and_labels() -> None:
    rule, reference = VerdictRule(0.5), np.array([-2.0, 0.05, 3.0], dtype=np.float32)
    batch = np.zeros((3, 3, 4, 4), dtype=np.float32)
    assert self_test(Fixed([-2.0, 0.05, 3.0]), batch, reference, 1.0, rule).passed
    moved = self_test(Fixed([-2.0, -0.01, 3.0]), batch, reference, 1.0, rule)  # ΔP 0.015 but a label flips
    assert not moved.passed and moved.labels_changed == 1 and moved.max_dp < 0.02
    assert not self_test(Fixed([-1.5, 0.05, 3.0]), batch, reference, 1.0, rule).passed  # ΔP 0.06
    nan = self_test(Fixed([float("nan"), 0.05, 3.0]), batch, reference, 1.0, rule)
    assert not nan.passed and "NaN" in nan.describe()
    assert SelfTest("openvino-bf16", 0.03, 0, 6).describe().startswith("openvino-bf16 self-test failed")


def test_self_test_accepts_a_matching_engine_and_caches_it(exported: tuple[Path, dict]) -> None:
    onnx_path, meta = exported
    loaded = open_engine(onnx_path, meta, EnginePlan("openvino", "fp32", "test"))
    assert loaded.engine.name == "openvino-fp32" and loaded.note is None
    assert reference_path(onnx_path).is_file()  # fp32 reference stored beside the export
    xml = ir_folder(onnx_path, "fp32") / "model.xml"
    stamp = xml.stat().st_mtime_ns
    again = open_engine(onnx_path, meta, EnginePlan("openvino", "fp32", "test"))
    assert again.engine.name == "openvino-fp32" and xml.stat().st_mtime_ns == stamp  # converted once
    assert not [p for p in xml.parent.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_the_engine_is_named_by_the_precision_openvino_compiled(exported) -> None:
    """bf16 asked for: ``openvino-bf16`` where OpenVINO reports bf16 for this CPU, ``openvino-fp32`` elsewhere."""
    import openvino as ov

    onnx_path, _ = exported
    bf16_here = "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    engine = OpenVinoBackend(convert(onnx_path, "bf16"), "bf16")
    assert engine.name == ("openvino-bf16" if bf16_here else "openvino-fp32")
    assert OpenVinoBackend(convert(onnx_path, "fp32"), "fp32").name == "openvino-fp32"


def test_self_test_rejects_a_perturbed_engine_and_falls_back_with_the_reason(exported, monkeypatch) -> None:
    onnx_path, meta = exported
    perturb(monkeypatch, 2.0)
    loaded = open_engine(onnx_path, meta, EnginePlan("openvino", "bf16", "CPU has amx_bf16"))
    assert isinstance(loaded.engine, OnnxBackend) and loaded.engine.name == "onnxruntime-fp32"
    assert loaded.note.count("self-test failed") == 1  # auto's bf16 (fp32 here: no bf16 hardware), then ONNX Runtime
    assert loaded.note.endswith("using onnxruntime-fp32") and "\n" not in loaded.note
    # OpenVINO asked for by name: its fp32 is tried too before ONNX Runtime
    forced = open_engine(onnx_path, meta, plan_engine("openvino-bf16", AVX2_ONLY, gpu=False))
    assert forced.engine.name == "onnxruntime-fp32" and forced.note.count("self-test failed") == 2


def test_auto_on_a_bf16_cpu_uses_openvino_and_outputs_name_it(small_model: Path, cache: Path, tmp_path: Path,
                                                              monkeypatch) -> None:
    from deepfake_detector.inference import detector as detector_module
    from deepfake_detector.inference.writers import write_predictions
    from deepfake_detector.serve.service import Service

    monkeypatch.setattr(detector_module, "cpu_flags", lambda: frozenset(SAPPHIRE_RAPIDS))
    detector = Detector.load(small_model, device="cpu", backend="auto")
    # OpenVINO honours bf16 only on CPUs that have it: the name says which precision really ran (bf16 with its
    # crops near a boundary scored again in fp32, inference/recheck.py)
    assert detector.engine in ("openvino-bf16+fp32-recheck", "openvino-fp32")
    assert detector.engine_note == "CPU has amx_bf16, avx512_bf16"
    image = write_image(tmp_path / "a.png", (120, 90, 60), size=40)
    predictions = detector.predict([image], faces="off", provenance=False)
    write_predictions(predictions, tmp_path / "out.json", detector)
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["inference_engine"] == detector.engine and written["engine_note"] == detector.engine_note
    write_predictions(predictions, tmp_path / "out.csv", detector)
    assert (tmp_path / "out.csv").read_text().splitlines()[1].endswith(f",{detector.engine}")
    assert Service(detector).info()["inference_engine"] == detector.engine

    perturb(monkeypatch, -3.0)
    fallen = Detector.load(small_model, device="cpu", backend="auto")
    assert fallen.engine == "onnxruntime-fp32" and "self-test failed" in fallen.engine_note
    assert abs(fallen.predict([image], faces="off", provenance=False)[0].p_fake - predictions[0].p_fake) < 0.02


def test_auto_without_bf16_or_int8_hardware_is_unchanged(small_model: Path, cache: Path, monkeypatch) -> None:
    from deepfake_detector.inference import detector as detector_module

    monkeypatch.setattr(detector_module, "cpu_flags", lambda: frozenset(AVX2_ONLY))
    assert Detector.load(small_model, device="cpu", backend="auto").engine == "onnxruntime-fp32"
    assert Detector.load(small_model, device="cpu", backend="torch").engine == "torch-cpu-fp32"
    assert not (cache / "openvino").exists()  # OpenVINO was never involved


def test_int8_without_calibration_photos_falls_back_and_says_how(exported) -> None:
    onnx_path, meta = exported
    loaded = open_engine(onnx_path, meta, EnginePlan("openvino", "int8", "CPU has avx512_vnni"))
    assert loaded.engine.name == "onnxruntime-fp32"
    assert "int8 needs calibration photos" in loaded.note and "DEEPFAKE_DETECTOR_CALIBRATION" in loaded.note


def test_int8_quantisation_builds_a_cached_engine(exported, tmp_path: Path, monkeypatch) -> None:
    from deepfake_detector.inference.int8_calibration import load_calibration

    onnx_path, meta = exported
    for i in range(8):
        write_image(tmp_path / "calibration" / f"{i}.png", (40 * i, 100, 200 - 20 * i), size=40, seed=i)
    calibration = load_calibration(meta.preprocess, tmp_path / "calibration")
    assert calibration is not None and calibration.batch.shape == (8, 3, 32, 32)
    xml = convert(onnx_path, "int8", calibration.batch, calibration.key)
    assert xml.parent == ir_folder(onnx_path, "int8", calibration.key) and xml.is_file()
    engine = OpenVinoBackend(xml, "int8")
    assert engine.name == "openvino-int8" and np.isfinite(engine.run(calibration.batch)).all()
    # whether int8 passes the self-test depends on the CPU; either way the load names what scores and why
    monkeypatch.setenv("DEEPFAKE_DETECTOR_CALIBRATION", str(tmp_path / "calibration"))
    loaded = open_engine(onnx_path, meta, EnginePlan("openvino", "int8", "CPU has avx512_vnni"))
    assert loaded.engine.name == "openvino-int8+fp32-recheck" or "openvino-int8 self-test failed" in loaded.note


def test_int8_is_also_tested_on_calibration_photos_it_was_not_calibrated_on(exported, tmp_path: Path,
                                                                           monkeypatch) -> None:
    """An int8 engine right on the synthetic probes but wrong on real photos is rejected: its self-test also
    scores the calibration folder's other photos against fp32."""
    from deepfake_detector.inference.int8_calibration import (
        DEFAULT_COUNT,
        calibration_files,
        check_files,
        load_check_photos,
    )
    from deepfake_detector.inference.self_test import PROBES

    onnx_path, meta = exported
    folder = tmp_path / "calibration"
    for i in range(2 * DEFAULT_COUNT):
        write_image(folder / f"{i:02d}.png", (4 * i, 100, 255 - 4 * i), size=40, seed=i)
    calibrated, checked = calibration_files(folder), check_files(folder)
    assert len(checked) == DEFAULT_COUNT and not set(calibrated) & set(checked)
    monkeypatch.setenv("DEEPFAKE_DETECTOR_CALIBRATION", str(folder))
    original = OpenVinoBackend.run

    def wrong_on_photos(self, batch):  # the probes come first; every row after them is a photo
        logits = original(self, batch)
        logits[PROBES:] += np.float32(4.0) if self.precision == "int8" else np.float32(0.0)
        return logits

    monkeypatch.setattr(OpenVinoBackend, "run", wrong_on_photos)
    loaded = open_engine(onnx_path, meta, EnginePlan("openvino", "int8", "CPU has avx512_vnni"))
    assert loaded.engine.name == "onnxruntime-fp32"
    assert "openvino-int8 self-test failed" in loaded.note
    assert f"of {PROBES + DEFAULT_COUNT} probe labels" in loaded.note
    photos = load_check_photos(meta.preprocess, folder)
    assert reference_path(onnx_path, f"photos-{photos.key}").is_file()  # fp32 reference of the photos, stored


def test_scan_records_the_engine(small_model: Path, cache: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from deepfake_detector.scan import scan
    from deepfake_detector.scan.summary import format_summary, summarize

    images = [write_image(tmp_path / "in" / f"{i}.png", (30 * i, 80, 90), size=40, seed=i) for i in range(3)]
    out = scan(images, tmp_path / "scan", small_model, backend="openvino-fp32", faces="off", provenance=False)
    assert set(pq.read_table(out).column("inference_engine").to_pylist()) == {"openvino-fp32"}
    summary = summarize(out)
    assert summary["inference_engine"] == "openvino-fp32" and "openvino-fp32" in format_summary(summary)


def test_the_reference_follows_the_probes(exported) -> None:
    from deepfake_detector.inference.self_test import reference_logits

    onnx_path, meta = exported
    batch = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)
    first = reference_logits(onnx_path, batch)
    np.testing.assert_array_equal(reference_logits(onnx_path, batch), first)  # read back from the stored file
    other = reference_logits(onnx_path, batch[::-1].copy())  # other probes: recomputed, never a stale reference
    np.testing.assert_allclose(other, first[::-1], atol=1e-5)


def test_the_torch_free_predictor_runs_openvino_and_prints_the_engine(exported, small_model: Path, capsys,
                                                                       monkeypatch) -> None:
    from deepfake_detector.inference.loading import load_predictor
    from deepfake_detector.inference.onnx_predict import OnnxPredictor

    monkeypatch.setattr("deepfake_detector.inference.loading.gpu_present", lambda: False)
    light = load_predictor(small_model, "openvino-fp32")  # the export is cached: no torch path needed
    assert isinstance(light, OnnxPredictor) and light.engine == "openvino-fp32"
    assert "engine: openvino-fp32 (--backend openvino-fp32)" in capsys.readouterr().err
    crops = probe_images((32, 32))
    reference = Detector.load(small_model, device="cpu", backend="onnx").p_fake(crops)
    assert np.abs(light.p_fake(crops) - reference).max() < 0.02
