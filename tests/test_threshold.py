"""Threshold policies pick the expected threshold on constructed validation scores; config validates them;
the chosen operating point is stored in model.json and used by predict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deepfake_detector.config import load_config
from deepfake_detector.errors import ConfigError
from deepfake_detector.evaluation import choose_threshold, parse_policy
from deepfake_detector.evaluation.operating_point import operating_point

SEPARABLE = ([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
# Sorted down: .9F .75R .7F .6F .5F .3R .2R .1R
OVERLAP = ([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.75, 0.5, 0.6, 0.7, 0.9])


@pytest.mark.parametrize(("data", "policy", "threshold", "tpr", "fpr"), [
    (SEPARABLE, "youden", 0.5, 1.0, 0.0),  # halfway between 0.4 and 0.6
    (SEPARABLE, "eer", 0.5, 1.0, 0.0),
    (OVERLAP, "youden", 0.4, 1.0, 0.25),  # J = 0.75, all fakes, one real
    (OVERLAP, "eer", 0.55, 0.75, 0.25),  # FPR = FNR = 0.25
    (OVERLAP, "fpr:0.25", 0.4, 1.0, 0.25),
    (OVERLAP, "fpr:0.01", 0.825, 0.25, 0.0),  # no real may be called fake: only 0.9
])
def test_policies_on_constructed_scores(data, policy, threshold, tpr, fpr):
    choice = choose_threshold(*data, policy)
    assert choice.threshold == pytest.approx(threshold)
    assert (choice.val_tpr, choice.val_fpr) == pytest.approx((tpr, fpr))
    y, s = map(np.asarray, data)
    pred = s >= choice.threshold  # the stored threshold reproduces the chosen validation point
    assert pred[y == 1].mean() == pytest.approx(tpr) and pred[y == 0].mean() == pytest.approx(fpr)


def test_fixed_threshold_and_parsing():
    assert choose_threshold([0, 1], [0.2, 0.9], 0.3).threshold == 0.3
    assert parse_policy(0.5) == "0.5" and parse_policy(" YOUDEN ") == "youden"
    assert parse_policy("fpr:0.050") == "fpr:0.05"
    for bad, msg in (("1.5", "between 0 and 1"), ("fpr:0", "false-positive rate"), ("median", "not understood")):
        with pytest.raises(ValueError, match=msg):
            parse_policy(bad)
    with pytest.raises(ValueError, match="both classes"):
        choose_threshold([1, 1], [0.2, 0.9], "youden")


def test_config_accepts_policies_with_clear_errors():
    assert load_config(None, ["train.threshold=fpr:0.01"]).train.threshold == "fpr:0.01"
    assert load_config(None, ["train.threshold=0.5"]).train.threshold == "0.5"
    with pytest.raises(ConfigError, match=r"train\.threshold.*not understood"):
        load_config(None, ["train.threshold=best"])


def test_operating_point_with_temperature():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = 1 / (1 + np.exp(-8 * ((2 * y - 1) + rng.normal(0, 1, 400))))  # overconfident
    point = operating_point(y, p, "eer", temperature_scaling=True)
    assert point.temperature > 1 and point.choice.policy == "eer"
    assert point.to_meta()["threshold_selection"]["n"] == 400
    assert operating_point(y, p, "0.5", temperature_scaling=False).temperature is None


def test_stored_threshold_and_temperature_used_by_detector(tmp_path, tiny_dataset):
    import torch

    from deepfake_detector.cli import main
    from deepfake_detector.inference import Detector
    from deepfake_detector.models import create_model
    from deepfake_detector.models.artifacts import save_model

    torch.manual_seed(0)
    model = create_model("seed_cnn", input_size=32, channels=[4], dense=4)
    save_model(model, tmp_path / "m", name="seed_cnn", args={"input_size": 32, "channels": [4], "dense": 4},
               threshold=0.5)
    plain = Detector.load(tmp_path / "m", device="cpu").predict([tiny_dataset / "real" / "r0.png"])[0].p_fake
    assert main(["evaluate", str(tmp_path / "m"), "--data", str(tiny_dataset), "--set-threshold", "youden",
                 "--temperature-scaling", "--out", str(tmp_path / "ev"), "--quiet"]) == 0
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["threshold_policy"] == "youden" and meta["temperature"] > 0
    detector = Detector.load(tmp_path / "m", device="cpu")
    assert detector.threshold == meta["threshold"] and detector.temperature == meta["temperature"]
    scaled = detector.predict([tiny_dataset / "real" / "r0.png"])[0]
    logit = np.log(plain / (1 - plain))
    assert scaled.p_fake == pytest.approx(1 / (1 + np.exp(-logit / meta["temperature"])), abs=1e-5)
    assert scaled.label == ("fake" if scaled.p_fake >= meta["threshold"] else "real")
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["threshold"] == meta["threshold"] and metrics["at_default"]["threshold"] == 0.5
