"""A reduced-precision engine keeps fp32's labels: crops it scores near a verdict boundary are scored again in fp32
(inference/recheck.py). Known logits here, and a real model export through open_engine with an engine that errs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_detector.errors import ConfigError
from deepfake_detector.faces.crop import crop_regions
from deepfake_detector.inference import Detector, save_model
from deepfake_detector.inference.engine import Engine
from deepfake_detector.inference.engine_choice import EnginePlan, open_engine
from deepfake_detector.inference.onnx_backend import OnnxBackend
from deepfake_detector.inference.onnx_export import load_onnx_backend
from deepfake_detector.inference.openvino_backend import OpenVinoBackend
from deepfake_detector.inference.recheck import ENV, MIN_MARGIN, RecheckedEngine, boundary_logits, recheck_margin
from deepfake_detector.inference.scorer import sigmoid_scores
from deepfake_detector.inference.self_test import probe_batch, probe_images
from deepfake_detector.inference.verdict import Band, VerdictRule
from deepfake_detector.models import create_model

from .engine_scorer import EngineScorer


class Table(Engine):
    """Logits looked up by the batch's first value (the row's id); counts the rows it scored."""

    def __init__(self, name: str, logits: np.ndarray) -> None:
        self.name, self.logits, self.rows = name, np.asarray(logits, dtype=np.float32), 0

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.rows += len(batch)
        return self.logits[batch[:, 0, 0, 0].astype(int)]


def ids(n: int) -> np.ndarray:
    batch = np.zeros((n, 3, 2, 2), dtype=np.float32)
    batch[:, 0, 0, 0] = np.arange(n)
    return batch


def test_boundaries_are_the_logits_where_the_label_changes() -> None:
    band = Band(0.3, 0.95)
    rule = VerdictRule(0.9, band)
    logits = boundary_logits(rule, temperature=0.8)
    np.testing.assert_allclose(sigmoid_scores(np.array(logits), 0.8), [band.low, band.high], atol=1e-6)
    assert boundary_logits(VerdictRule(0.5), 2.0) == (0.0,)  # no band: the threshold alone
    assert boundary_logits(VerdictRule(1.0), 1.0) == ()  # P 1 is never crossed


def test_labels_equal_fp32_and_only_crops_near_a_boundary_are_scored_again() -> None:
    rng = np.random.default_rng(0)
    reference_logits = np.concatenate([rng.normal(-6, 3, 200), rng.normal(7, 3, 200)]).astype(np.float32)
    error = rng.uniform(-0.7, 0.7, 400).astype(np.float32)  # under the margin, as bf16 errs on photos
    rule, temperature = VerdictRule(0.6, Band(0.2, 0.9)), 1.3
    fast, reference = Table("openvino-bf16", reference_logits + error), Table("onnxruntime-fp32", reference_logits)
    engine = RecheckedEngine(fast, lambda: reference, boundary_logits(rule, temperature), MIN_MARGIN)
    batch = ids(400)
    got = np.concatenate([engine.run(batch[i:i + 16]) for i in range(0, 400, 16)])

    def labels(logits: np.ndarray) -> list[str]:
        return [rule.label(float(p)) for p in sigmoid_scores(logits, temperature)]

    assert labels(got) == labels(reference_logits)
    assert labels(fast.logits) != labels(reference_logits)  # without the recheck some labels change
    bounds = np.array(boundary_logits(rule, temperature))
    near = (np.abs(fast.logits[:, None] - bounds) < MIN_MARGIN).any(axis=1)
    assert reference.rows == engine.rechecked == near.sum() and 0 < near.sum() < 400 / 3  # the few near
    assert engine.scored == 400 and engine.name == "openvino-bf16+fp32-recheck"
    np.testing.assert_array_equal(got[~near], fast.logits[~near])  # far from every boundary: the fast score stays
    assert f"{near.sum()} of 400 crops" in engine.describe()


def test_fp32_is_opened_only_when_needed_and_a_non_finite_logit_is_scored_again() -> None:
    opened = []
    reference = Table("onnxruntime-fp32", np.array([5.0, -6.0, 7.0], dtype=np.float32))

    def open_reference() -> Engine:
        opened.append(True)
        return reference

    far = RecheckedEngine(Table("openvino-bf16", [5.1, -6.1, 7.1]), open_reference, (0.0,), 0.5)
    far.run(ids(3))
    assert not opened  # every crop far from the boundary: fp32 never loaded
    broken = RecheckedEngine(Table("openvino-bf16", [5.1, float("nan"), 7.1]), open_reference, (0.0,), 0.5)
    np.testing.assert_allclose(broken.run(ids(3)), [5.1, -6.0, 7.1], rtol=1e-6)
    assert opened and broken.rechecked == 1


def test_the_margin_grows_with_the_error_the_self_test_saw_and_the_environment_can_set_it(monkeypatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert recheck_margin(0.01) == MIN_MARGIN
    assert recheck_margin(0.5) == pytest.approx(1.5)
    monkeypatch.setenv(ENV, "0.3")
    assert recheck_margin(0.5) == pytest.approx(0.3)
    for bad in ("-1", "nan", "wide"):
        monkeypatch.setenv(ENV, bad)
        with pytest.raises(ConfigError, match=f"{ENV} must be a number of logits >= 0"):
            recheck_margin(0.01)


@pytest.fixture
def exported(tmp_path: Path, monkeypatch) -> tuple[Path, Detector]:
    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(ENV, raising=False)
    args = {"input_size": 32, "channels": [8, 16], "dense": 16}
    torch.manual_seed(0)
    model = create_model("seed_cnn", **args)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():  # an untrained net's logits differ by ~0.01 between images; spread them over logits
        last.weight.mul_(100.0)
        last.bias.mul_(100.0)
    folder = save_model(model, tmp_path / "small", name="seed_cnn", args=args, threshold=0.5)
    detector = Detector.load(folder, device="cpu")
    return load_onnx_backend(detector.model, detector.meta, folder).path, detector


def test_open_engine_keeps_fp32_labels_for_an_engine_that_errs(exported, monkeypatch) -> None:
    """OpenVINO made to answer like a bf16 engine 0.3 logit off (within the self-test's tolerance): the engine
    open_engine returns labels every crop as ONNX Runtime fp32 does, though the raw engine would not."""
    onnx_path, detector = exported
    original_init, original_run = OpenVinoBackend.__init__, OpenVinoBackend.run

    def as_bf16(self, ir_path, precision, threads=None):
        original_init(self, ir_path, precision, threads)
        self.precision, self.name = precision, f"openvino-{precision}"

    monkeypatch.setattr(OpenVinoBackend, "__init__", as_bf16)
    monkeypatch.setattr(OpenVinoBackend, "run", lambda self, batch: original_run(self, batch) + np.float32(0.3))
    crops = np.concatenate([probe_images((32, 32), 6, seed) for seed in range(8)])
    batch = detector.transform(torch.from_numpy(crops).permute(0, 3, 1, 2)).numpy()
    fp32 = OnnxBackend(onnx_path).run(batch)
    probes = OnnxBackend(onnx_path).run(probe_batch(detector.preprocess))
    # a threshold 0.15 logit above a crop's: the raw engine's +0.3 moves that crop across it; none of the
    # self-test's probes lies within 0.3 below it, so their labels stay and the engine passes
    cut = next(c for c in np.sort(fp32) + 0.15 if not ((probes >= c - 0.3) & (probes < c)).any())
    meta = detector.meta.updated({"threshold": 1 / (1 + math.exp(-float(cut))), "temperature": 1.0})
    loaded = open_engine(onnx_path, meta, EnginePlan("openvino", "bf16", "test"))
    assert loaded.note is None and loaded.engine.name == "openvino-bf16+fp32-recheck"
    rule = VerdictRule(meta.threshold)

    def labels(logits: np.ndarray) -> list[str]:
        return [rule.label(float(p)) for p in sigmoid_scores(logits, 1.0)]

    assert labels(loaded.engine.run(batch)) == labels(fp32)
    assert labels(fp32 + np.float32(0.3)) != labels(fp32)
    assert 0 < loaded.engine.rechecked < len(batch)

    monkeypatch.setenv(ENV, "0")  # no recheck asked for: the engine as the self-test passed it, named as it is
    raw = open_engine(onnx_path, meta, EnginePlan("openvino", "bf16", "test")).engine
    assert raw.name == "openvino-bf16" and not isinstance(raw, RecheckedEngine)


class Brightness(Engine):
    """A stand-in model: the logit is the batch row's mean pixel (normalised) times 10, plus ``shift``."""

    def __init__(self, name: str, shift: float = 0.0) -> None:
        self.name, self.shift = name, shift

    def run(self, batch: np.ndarray) -> np.ndarray:
        return (10 * batch.mean(axis=(1, 2, 3)) + self.shift).astype(np.float32)


def test_a_photo_averaged_near_a_boundary_is_scored_in_fp32_though_no_region_was() -> None:
    """framing faces+image-mean: a face crop and the photo each far from the threshold, their mean near it. An
    engine 0.3 logit off moves the mean across; the pipeline scores that photo again in fp32, so its verdict is
    fp32's."""
    from deepfake_detector.faces.crop import Region
    from deepfake_detector.faces.detect import Face
    from deepfake_detector.faces.locate import Located
    from deepfake_detector.inference.analyze import score_located, to_prediction
    from deepfake_detector.inference.regions import mean_logit

    image = np.full((100, 200, 3), 20, dtype=np.uint8)
    image[:, :120] = 200  # the face's side is bright: face crop and photo score differently
    where = Located([Region(0, 0, 120, 100)], [Face((20, 20, 80, 60), 0.99)], image=Region(0, 0, 200, 100))
    meta = {"model": {"name": "stand-in", "args": {}}, "framing": "faces+image-mean", "temperature": 1.0,
            "preprocess": {"input_size": [32, 32], "mean": [0, 0, 0], "std": [1, 1, 1]}, "threshold": 0.5}
    fp32 = EngineScorer(meta, Brightness("onnxruntime-fp32"))
    face, photo = fp32.logits(crop_regions(image, where.scored, fp32.preprocess))
    cut = (face + photo) / 2 + 0.1  # fp32's mean lies 0.1 below it
    assert min(abs(face - cut), abs(photo - cut)) > 0.5  # every region far from it: none re-scored on its own
    meta["threshold"] = 1 / (1 + math.exp(-cut))

    def scorer(margin: float) -> EngineScorer:
        fast = RecheckedEngine(Brightness("openvino-bf16", shift=0.3), lambda: Brightness("onnxruntime-fp32"),
                               (cut,), margin)
        return EngineScorer(meta, fast)

    def label(predictor: EngineScorer) -> str:
        [scores] = score_located(predictor, [image], [where])
        return to_prediction(predictor, None, image, where, scores, "auto").label

    assert label(EngineScorer(meta, Brightness("onnxruntime-fp32"))) == "real"
    assert label(scorer(margin=0.1)) == "fake"  # the photo's mean not within the margin: bf16's verdict
    rechecked = scorer(margin=0.5)
    assert label(rechecked) == "real" and rechecked.runtime.rechecked == 0  # the photo, not a region, was re-scored
    p = to_prediction(fp32, None, image, where, score_located(fp32, [image], [where])[0], "auto").p_fake
    assert p == pytest.approx(mean_logit(1 / (1 + math.exp(-face)), 1 / (1 + math.exp(-photo))), rel=1e-5)
