"""The second look (model.json ``second_look``): a photo scored near a verdict boundary is scored again mirrored
and each region's logit averaged over the two looks; photos far from every boundary are looked at once; calibrate
chooses the point with every validation photo looked at twice. Stand-in engines whose logit is the left-right
difference of brightness (so the mirror sees the opposite), then the fast model calibrated on real photos."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from deepfake_detector.faces.crop import Region
from deepfake_detector.faces.locate import Located
from deepfake_detector.inference.analyze import score_located
from deepfake_detector.inference.engine import Engine
from deepfake_detector.inference.recheck import RecheckedEngine
from deepfake_detector.inference.regions import mean_logit
from deepfake_detector.inference.scorer import Scorer

from .conftest import DATA_140K
from .engine_scorer import EngineScorer


class LeftMinusRight(Engine):
    """A stand-in model: logit = 10 x (mean of the left half - mean of the right half) + ``offset`` + ``error``;
    its mirror sees the opposite difference. Counts the rows it scored."""

    def __init__(self, name: str, offset: float, error: float = 0.0) -> None:
        self.name, self.offset, self.error, self.rows = name, offset, error, 0

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.rows += len(batch)
        half = batch.shape[3] // 2
        difference = batch[:, :, :, :half].mean(axis=(1, 2, 3)) - batch[:, :, :, half:].mean(axis=(1, 2, 3))
        return (10 * difference + self.offset + self.error).astype(np.float32)


def _photo(left: int, right: int) -> np.ndarray:
    image = np.full((64, 64, 3), right, dtype=np.uint8)
    image[:, :32] = left
    return image


WHOLE = Located([Region(0, 0, 64, 64)], [], image=None)  # scored whole, one region
META = {"model": {"name": "stand-in", "args": {}}, "temperature": 1.0, "threshold": 0.5,
        "preprocess": {"input_size": [32, 32], "mean": [0, 0, 0], "std": [1, 1, 1]},
        "second_look": {"within": 1.0}}


def _scores(predictor: Scorer, images: list[np.ndarray]) -> list[float]:
    return [s for (s,) in score_located(predictor, images, [WHOLE] * len(images))]


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _looks(engine: Engine, image: np.ndarray) -> tuple[float, float]:
    """P(fake) of the photo's crop as it is and mirrored, computed here from the engine's own formula."""
    from deepfake_detector.faces.crop import crop_regions

    crop = crop_regions(image, WHOLE.scored, Scorer(META).preprocess).astype(np.float32).transpose(0, 3, 1, 2) / 255
    return sigmoid(float(engine.run(crop)[0])), sigmoid(float(engine.run(crop[:, :, :, ::-1])[0]))


def test_only_photos_near_a_boundary_are_looked_at_twice_and_averaged() -> None:
    # First looks (logit ~ 10 x brightness difference + 0.5): near (~+0.9), far (~+4.2 / ~-3.2); the boundary is 0.
    near, far_fake, far_real = _photo(110, 100), _photo(200, 105), _photo(10, 105)
    reference = LeftMinusRight("reference", offset=0.5)
    (first, mirror), (fake_first, fake_mirror), (real_first, _) = (_looks(reference, i)
                                                                   for i in (near, far_fake, far_real))
    assert abs(math.log(first / (1 - first))) < 1 < min(abs(math.log(p / (1 - p))) for p in (fake_first, real_first))

    engine = LeftMinusRight("onnxruntime-fp32", offset=0.5)
    scores = _scores(EngineScorer(META, engine), [near, far_fake, far_real])
    assert engine.rows == 3 + 1  # three first looks, one second
    assert scores[1:] == pytest.approx([fake_first, real_first], rel=1e-5)  # far from the boundary: as first seen
    assert scores[0] == pytest.approx(mean_logit(first, mirror), rel=1e-5) and mirror < first

    one_look = EngineScorer({k: v for k, v in META.items() if k != "second_look"}, engine)
    assert _scores(one_look, [near, far_fake, far_real]) == pytest.approx([first, fake_first, real_first], rel=1e-5)

    everywhere = EngineScorer(META, engine)
    with everywhere.looking_twice_everywhere():  # calibrate's scoring: every photo averaged over both looks
        both = _scores(everywhere, [near, far_fake])
    assert both == pytest.approx([mean_logit(first, mirror), mean_logit(fake_first, fake_mirror)], rel=1e-5)
    assert _scores(everywhere, [far_fake]) == pytest.approx([fake_first], rel=1e-5)  # after it, only near ones


def test_the_reach_is_measured_from_every_boundary_of_the_band_through_the_temperature() -> None:
    meta = META | {"temperature": 2.0, "threshold": sigmoid(1.5), "uncertain": {"low": sigmoid(-1.5),
                                                                                 "high": sigmoid(1.5)}}
    predictor = EngineScorer(meta, LeftMinusRight("onnxruntime-fp32", offset=0.0))
    # Boundaries at logits +-3 (temperature 2): P(fake) of logits 2.5 and -3.8 are within 1 of one, 0.5 is not.
    assert predictor.looks_twice(sigmoid(2.5 / 2)) and predictor.looks_twice(sigmoid(-3.8 / 2))
    assert not predictor.looks_twice(sigmoid(0.5 / 2)) and not predictor.looks_twice(sigmoid(5 / 2))


def test_a_reduced_precision_engine_near_a_boundary_gives_fp32s_two_looks() -> None:
    """The second look and the fp32 recheck together: an engine 0.3 logit off, a photo near the threshold after
    its two looks (fp32: ~+0.6 and ~-0.2); the photo is scored again in fp32 over both looks, so its score is
    fp32's two-look score, not the fast engine's."""
    near = _photo(110, 100)
    fp32 = EngineScorer(META, LeftMinusRight("onnxruntime-fp32", offset=0.2))
    [expected] = _scores(fp32, [near])
    fast = RecheckedEngine(LeftMinusRight("openvino-bf16", offset=0.2, error=0.3),
                           lambda: LeftMinusRight("onnxruntime-fp32", offset=0.2), (0.0,), margin=0.75)
    raw = EngineScorer(META, LeftMinusRight("openvino-bf16", offset=0.2, error=0.3))
    assert _scores(raw, [near])[0] > expected + 0.05  # the fast engine alone would not give fp32's score
    assert _scores(EngineScorer(META, fast), [near]) == pytest.approx([expected], rel=1e-6)


def test_a_bad_reach_stops_the_load_naming_the_entry() -> None:
    from deepfake_detector.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="second_look.within"):
        EngineScorer(META | {"second_look": {"within": -1}}, LeftMinusRight("x", 0.0))


def test_calibrate_with_a_second_look_on_real_photos(tmp_path: Path, capsys) -> None:
    """The fast model, calibrated on real 140k photos with --second-look: model.json says so, the threshold is
    the one every-photo-twice scores give, and predict looks twice exactly at the photos near a boundary."""
    from deepfake_detector import Detector
    from deepfake_detector.cli import main
    from deepfake_detector.data.samples import Sample
    from deepfake_detector.data.splits import Splits, write_splits
    from deepfake_detector.evaluation.thresholds import choose_threshold
    from deepfake_detector.models.bundled import bundled_model_dir

    model = Path(shutil.copytree(bundled_model_dir("fast"), tmp_path / "fast"))
    root = DATA_140K / "real_vs_fake" / "real-vs-fake" / "valid"
    valid = ([Sample(p, 0, "140k") for p in sorted((root / "real").glob("*.jpg"))[:20]]
             + [Sample(p, 1, "140k") for p in sorted((root / "fake").glob("*.jpg"))[:20]])
    write_splits(model / "splits.csv", Splits([], valid, [], True))
    assert main(["calibrate", str(model), "--threshold", "youden", "--no-temperature", "--uncertain", "none",
                 "--faces", "off", "--second-look", "--processed-reals", "--quiet"]) == 0
    assert "second look: mirrored, within 1.0 logit" in capsys.readouterr().out
    meta = json.loads((model / "model.json").read_text())
    assert meta["second_look"] == {"within": 1.0}

    detector = Detector.load(model, device="cpu")
    paths = [s.path for s in valid]
    once = Path(shutil.copytree(model, tmp_path / "once"))  # the calibrated model without its second look
    (once / "model.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "second_look"}))
    one_look = [p.p_fake for p in Detector.load(once, device="cpu").predict(paths, faces="off")]
    with detector.looking_twice_everywhere():
        twice = [p.p_fake for p in detector.predict(paths, faces="off")]
    assert twice != pytest.approx(one_look, abs=1e-4)  # the mirror is another look
    y = np.array([s.label for s in valid])
    assert choose_threshold(y, np.array(twice), "youden").threshold == pytest.approx(meta["threshold"], abs=1e-4)

    got = [p.p_fake for p in detector.predict(paths, faces="off")]
    near = [detector.looks_twice(p) for p in one_look]
    assert 0 < sum(near) < len(paths)  # some near the new threshold, some not: both branches taken
    for g, first, both, is_near in zip(got, one_look, twice, near, strict=True):
        assert g == pytest.approx(both if is_near else first, rel=1e-5)
