"""EER, TPR at fixed FPR, balanced accuracy, log-loss, Brier, ECE: by hand and against scikit-learn;
bootstrap intervals cover the estimate and shrink with more data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, brier_score_loss, log_loss, roc_curve

from deepfake_detector.evaluation import binary_metrics, summarize
from deepfake_detector.evaluation.bootstrap import confusion_cis, resample_weights, threshold_free_cis
from deepfake_detector.evaluation.calibration import apply_temperature, fit_temperature, reliability_bins
from deepfake_detector.evaluation.paper import paper_reference
from deepfake_detector.evaluation.summary import headline_row


def _random(n: int, seed: int = 0, ties: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0.01, 0.99)
    return y, (np.round(s, 2) if ties else s)


def test_hand_computed_ranking_and_calibration():
    m = binary_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["average_precision"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # ROC: (0,0) (0,.5) (.5,.5) (.5,1) (1,1): FPR = FNR = 0.5 at the third point
    assert m["eer"] == pytest.approx(0.5)
    assert m["tpr_at_fpr_1pct"] == m["tpr_at_fpr_5pct"] == pytest.approx(0.5)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["brier"] == pytest.approx((0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])))


def test_ece_by_hand():
    # 0.1 falls in bin 1 of 15, 0.9 in bin 13: gaps |1 - 0.2| and |2 - 1.8|, over 4 images
    m = binary_metrics([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9])
    assert m["ece"] == pytest.approx((0.8 + 0.2) / 4)
    bins = reliability_bins(np.array([0, 1, 1, 1]), np.array([0.1, 0.1, 0.9, 0.9]))
    assert bins[1]["count"] == 2 and bins[1]["fraction_fake"] == 0.5 and bins[13]["mean_p_fake"] == 0.9


def test_eer_interpolates_between_roc_points():
    # A tied real/fake pair makes the ROC segment (0,.5)-(.5,1); FPR = FNR = 0.25 halfway along it
    assert binary_metrics([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1])["eer"] == pytest.approx(0.25)


@pytest.mark.parametrize("ties", [True, False])
def test_agrees_with_sklearn(ties: bool):
    y, s = _random(600, ties=ties)
    m = binary_metrics(y, s, threshold=0.5)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, s >= 0.5))
    assert m["brier"] == pytest.approx(brier_score_loss(y, s))
    assert m["log_loss"] == pytest.approx(log_loss(y, s))
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    for key, target in (("tpr_at_fpr_1pct", 0.01), ("tpr_at_fpr_5pct", 0.05)):
        assert m[key] == pytest.approx(tpr[fpr <= target].max())
    fnr = 1 - tpr
    k = int(np.argmax(fpr >= fnr))  # first ROC point past the crossing; the EER lies between k-1 and k
    assert min(fpr[k - 1], fnr[k]) - 1e-12 <= m["eer"] <= max(fpr[k], fnr[k - 1]) + 1e-12


def test_perfect_and_one_class():
    m = binary_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert (m["roc_auc"], m["eer"], m["tpr_at_fpr_1pct"]) == (1.0, 0.0, 1.0)
    one = binary_metrics([1, 1, 1], [0.2, 0.6, 0.9])
    assert one["roc_auc"] is None and one["eer"] is None and one["log_loss"] > 0


def test_bootstrap_is_seeded_covers_estimate_and_shrinks():
    widths = []
    for n in (100, 2000):
        y, s = _random(n, seed=1)
        w = resample_weights(y, 500, seed=3)
        assert np.array_equal(w, resample_weights(y, 500, seed=3))
        assert np.all(w[:, y == 1].sum(axis=1) == (y == 1).sum())  # stratified: class counts kept
        cis = threshold_free_cis(y, s, w)
        point = binary_metrics(y, s)
        for key, (low, high) in cis.items():
            assert low <= point[key] <= high, key
        widths.append(cis["roc_auc"][1] - cis["roc_auc"][0])
    assert widths[1] < widths[0] / 2


def test_summary_has_both_thresholds_and_intervals():
    y, s = _random(300, seed=2)
    m = summarize(y, s, threshold=0.6, n_resamples=200)
    assert m["threshold"] == 0.6 and m["at_selected"]["threshold"] == 0.6 and m["at_default"]["threshold"] == 0.5
    assert m["accuracy"] == m["at_selected"]["accuracy"] == binary_metrics(y, s, 0.6)["accuracy"]
    assert m["at_default"]["accuracy"] == binary_metrics(y, s, 0.5)["accuracy"]
    for key in ("roc_auc", "eer", "ece", "accuracy", "f1"):
        low, high = m["ci95"][key]
        assert low <= m[key] <= high
    row = headline_row(m)
    assert row["accuracy_at_0.5"] == m["at_default"]["accuracy"] and row["roc_auc_ci_low"] <= row["roc_auc"]


def test_paper_interval_from_its_matrix():
    ref = paper_reference("seed-cnn")
    low, high = ref["ci95"]["accuracy"]
    assert low < ref["computed"]["accuracy"] < high and high - low < 0.02  # 14,800 images: tight
    assert confusion_cis(5, 5, 0, 0)["accuracy"] == [1.0, 1.0]


def test_temperature_scaling_fixes_overconfidence():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    z = (2 * y - 1) + rng.normal(0, 1.0, 2000)  # N(+-1, 1): the calibrated log-odds are 2 z ...
    p = 1 / (1 + np.exp(-6 * z))  # ... so 6 z is 3x overconfident
    t = fit_temperature(y, p)
    assert t == pytest.approx(3.0, rel=0.15)
    calibrated = apply_temperature(p, t)
    assert binary_metrics(y, calibrated)["log_loss"] < binary_metrics(y, p)["log_loss"]
    assert binary_metrics(y, calibrated)["roc_auc"] == pytest.approx(binary_metrics(y, p)["roc_auc"])
