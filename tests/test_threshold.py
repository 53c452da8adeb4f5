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


# Two real sources and one fake set; sorted down: .9F .8F .7F .6U .55F .5U .4R .3R .25U .2R .15U .1R
# (U: a real of the "utk" source, R: a real of "ffhq").
TWO_SOURCES = ([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1],
               [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.15, 0.25, 0.55, 0.7, 0.8, 0.9],
               ["ffhq"] * 4 + ["utk"] * 4 + ["gan"] * 4)


@pytest.mark.parametrize(("policy", "threshold", "tpr", "fpr", "by_source"), [
    ("fpr:0.125", 0.525, 1.0, 0.125, {"ffhq": 0.0, "utk": 0.25}),  # pooled: one real of 8 flagged
    ("fpr:0.125@worst-source", 0.65, 0.75, 0.0, {"ffhq": 0.0, "utk": 0.0}),  # utk may lose none of its 4
    ("fpr:0.25@worst-source", 0.525, 1.0, 0.125, {"ffhq": 0.0, "utk": 0.25}),  # one utk real of 4 allowed
    ("youden", 0.525, 1.0, 0.125, {"ffhq": 0.0, "utk": 0.25}),  # sources given: their FPRs recorded too
])
def test_worst_source_policy_holds_every_real_source(policy, threshold, tpr, fpr, by_source):
    y, s, sources = TWO_SOURCES
    choice = choose_threshold(y, s, policy, sources)
    assert choice.threshold == pytest.approx(threshold) and choice.policy == policy
    assert (choice.val_tpr, choice.val_fpr) == pytest.approx((tpr, fpr))
    assert choice.val_fpr_by_source == pytest.approx(by_source)
    y, s, names = map(np.asarray, TWO_SOURCES)
    for name, rate in by_source.items():  # the stored threshold reproduces each source's validation FPR
        assert (s[(names == name) & (y == 0)] >= choice.threshold).mean() == pytest.approx(rate)


def test_worst_source_without_sources_warns_and_holds_the_pooled_rate():
    y, s, _ = TWO_SOURCES
    with pytest.warns(UserWarning, match="no source names.*pooled"):
        choice = choose_threshold(y, s, "fpr:0.125@worst-source")
    assert choice.policy == "fpr:0.125" and choice.threshold == pytest.approx(0.525)
    assert choice.val_fpr_by_source is None
    with pytest.raises(ValueError, match="3 source names for 12"):
        choose_threshold(y, s, "fpr:0.125@worst-source", ["a", "b", "c"])


def test_worst_source_policy_parses_and_validates():
    assert parse_policy(" FPR:0.020@Worst-Source ") == "fpr:0.02@worst-source"
    assert load_config(None, ["train.threshold=fpr:0.02@worst-source"]).train.threshold == "fpr:0.02@worst-source"
    with pytest.raises(ValueError, match="false-positive rate"):
        parse_policy("fpr:1.5@worst-source")
    for bad in ("fpr:0.02@worst", "0.5@worst-source", "youden@worst-source"):
        with pytest.raises(ValueError, match="not understood"):
            parse_policy(bad)


def test_config_validates_the_uncertain_target():
    assert load_config(None, []).train.uncertain is None
    assert load_config(None, ["train.uncertain=0.98"]).train.uncertain == 0.98
    for bad in ("98", "0.4", "high"):
        with pytest.raises(ConfigError, match=r"train\.uncertain"):
            load_config(None, [f"train.uncertain={bad}"])


def test_operating_point_chooses_temperature_then_threshold_then_band():
    from deepfake_detector.evaluation.calibration import apply_temperature

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    p = 1 / (1 + np.exp(-6 * ((2 * y - 1) * 0.6 + rng.normal(0, 1, 300))))
    point = operating_point(y, p, "fpr:0.05", temperature_scaling=True, uncertain=0.95)
    calibrated = apply_temperature(p, point.temperature)
    assert point.choice == choose_threshold(y, calibrated, "fpr:0.05")  # the threshold sees calibrated scores
    band = point.band
    assert band.low <= point.threshold <= band.high
    inside = (calibrated >= band.low) & (calibrated < band.high)
    right = np.where(calibrated >= band.high, y == 1, y == 0)[~inside]
    assert band.share == pytest.approx(inside.mean()) and band.confident_accuracy == pytest.approx(right.mean())
    assert band.confident_accuracy >= 0.95 and band.share > 0  # this overlap needs a band
    meta = point.to_meta()
    assert meta["uncertain"] == {"low": band.low, "high": band.high, "policy": "accuracy:0.95",
                                 "selection": {"split": "valid", "n": 300, "share": band.share,
                                               "confident_accuracy": band.confident_accuracy}}


def test_operating_point_keeps_no_band_when_the_target_is_unreachable():
    from deepfake_detector.evaluation.uncertainty import BandUnreachableError

    y, p = [1, 0, 1, 0], [0.1, 0.6, 0.4, 0.9]  # every verdict at 0.5 is wrong
    with pytest.warns(UserWarning, match="no uncertain band reaches 0.98.*keeps no uncertain band"):
        point = operating_point(y, p, "0.5", temperature_scaling=False, uncertain=0.98)
    assert point.band is None and point.to_meta()["uncertain"] is None
    with pytest.raises(BandUnreachableError):
        operating_point(y, p, "0.5", temperature_scaling=False, uncertain=0.98, require_band=True)


def test_processed_reals_are_held_to_the_policy_as_sources_of_their_own():
    """TWO_SOURCES at fpr:0.25@worst-source chooses 0.525 (one utk real of four flagged). The ffhq reals after a
    step scoring them 0.2-0.75 must then also hold 25%: the threshold rises between 0.65 and the fake at 0.7,
    leaving one of them flagged; the pooled FPR stored is the photos' as they are, the per-group ones include the
    processed group."""
    from deepfake_detector.evaluation.operating_point import ProcessedReals

    y, s, sources = TWO_SOURCES
    processed = ProcessedReals(np.array([0.6, 0.65, 0.75, 0.2]), ["ffhq+jpeg:50"] * 4, ("jpeg:50",))
    point = operating_point(np.array(y), np.array(s), "fpr:0.25@worst-source", temperature_scaling=False,
                            sources=sources, processed=processed)
    plain = choose_threshold(y, s, "fpr:0.25@worst-source", sources)
    assert plain.threshold == pytest.approx(0.525) and point.threshold == pytest.approx(0.675)
    by_source = point.choice.val_fpr_by_source
    assert by_source == pytest.approx({"ffhq": 0.0, "ffhq+jpeg:50": 0.25, "utk": 0.0})
    assert point.choice.val_tpr == pytest.approx(0.75)  # .9 .8 .7 of the four fakes
    assert point.choice.val_fpr == pytest.approx(0.0)  # of the eight reals as they are
    meta = point.to_meta()["threshold_selection"]
    assert meta["processed_reals"] == ["jpeg:50"] and meta["val_fpr_by_source"]["ffhq+jpeg:50"] == 0.25
    with pytest.raises(ValueError, match="fpr:"):
        operating_point(np.array(y), np.array(s), "youden", temperature_scaling=False, sources=sources,
                        processed=processed)
