"""The full metric summary of one scored set: the content of ``metrics.json`` (keys in docs/metrics.md).

Top level: counts and threshold metrics at the model's stored threshold (what ``predict`` uses), the
threshold-free metrics, and ``ci95`` intervals for all of them; ``at_default`` (0.5) and ``at_selected``
(stored threshold) hold the threshold metrics with their own intervals, so both are always reported.
"""

from __future__ import annotations

import numpy as np

from deepfake_detector.evaluation.bootstrap import (
    CONFIDENCE,
    N_RESAMPLES,
    band_cis,
    resample_weights,
    threshold_cis,
    threshold_free_cis,
)
from deepfake_detector.evaluation.calibration import reliability_bins
from deepfake_detector.evaluation.metrics import binary_metrics, confusion_counts, metrics_from_confusion
from deepfake_detector.evaluation.ranking import eer_crossing, roc_points
from deepfake_detector.evaluation.uncertainty import UncertainBand, band_rates

SCHEMA_VERSION = 1
DEFAULT_THRESHOLD = 0.5


def _at(y: np.ndarray, p: np.ndarray, threshold: float, w: np.ndarray) -> dict:
    m = metrics_from_confusion(**confusion_counts(y, p >= threshold))
    return {"threshold": float(threshold), **m, "ci95": threshold_cis(y, p, threshold, w)}


def _band(y: np.ndarray, p: np.ndarray, band: UncertainBand, w: np.ndarray) -> dict:
    """How the model's uncertain band splits this set: share inside, accuracy of the verdicts outside."""
    rates = band_rates(y, p, band.low, band.high, np.ones((1, len(y))))
    accuracy = float(rates["confident_accuracy"][0])
    return {"low": band.low, "high": band.high, "policy": band.policy,
            "n_uncertain": int(((p >= band.low) & (p < band.high)).sum()),
            "uncertain_share": float(rates["uncertain_share"][0]),
            "confident_accuracy": None if np.isnan(accuracy) else accuracy,
            "ci95": band_cis(y, p, band.low, band.high, w)}


def eer_threshold(y: np.ndarray, p: np.ndarray) -> float | None:
    """The score at which the ROC crosses FPR = FNR (the first point at or past the crossing)."""
    if len(np.unique(y)) < 2:
        return None
    roc = roc_points(y, p, np.ones((1, len(y))))
    k = int(eer_crossing(roc)[0][0])
    return float(roc.thresholds[k - 1])


def summarize(y_true, p_fake, threshold: float = DEFAULT_THRESHOLD, *, n_resamples: int = N_RESAMPLES,
              seed: int = 0, extra: dict | None = None, clusters: np.ndarray | None = None,
              band: UncertainBand | None = None) -> dict:
    """All metrics at 0.5 and at ``threshold``, threshold-free metrics, 95% bootstrap CIs, reliability, and
    with the model's uncertain ``band``, its share of inputs and confident accuracy (``uncertain``).

    ``clusters`` (one id per sample, e.g. the video each frame comes from): resample whole clusters instead of
    samples, so correlated samples (the frames of one video) do not make the intervals too narrow.
    """
    y, p = np.asarray(y_true).astype(int), np.asarray(p_fake, dtype=float)
    if clusters is None:
        w = resample_weights(y, n_resamples, seed)
    else:  # each cluster's draw count, given to all its samples (a cluster holds one class)
        _, first, members = np.unique(clusters, return_index=True, return_inverse=True)
        w = resample_weights(y[first], n_resamples, seed)[:, members]
    at_selected, at_default = _at(y, p, threshold, w), _at(y, p, DEFAULT_THRESHOLD, w)
    free = {k: v for k, v in binary_metrics(y, p, threshold).items() if k not in at_selected}
    out = {
        "schema_version": SCHEMA_VERSION,
        **(extra or {}),
        "n_real": int((y == 0).sum()), "n_fake": int((y == 1).sum()),
        **{k: v for k, v in at_selected.items() if k != "ci95"},
        **free,
        "eer_threshold": eer_threshold(y, p),
        "ci95": {**threshold_free_cis(y, p, w), **at_selected["ci95"]},
        "at_default": at_default,
        "at_selected": at_selected,
        "bootstrap": {"resamples": n_resamples, "seed": seed, "confidence": CONFIDENCE,
                      "stratified_by_class": True, "method": "percentile",
                      "resampled": "samples" if clusters is None else "clusters"},
        "reliability": reliability_bins(y, p),
    }
    if band is not None:
        out["uncertain"] = _band(y, p, band, w)
    return out


# Columns of the robustness and cross-dataset tables (CSV and report), in order.
ROW_METRICS = ("roc_auc", "average_precision", "eer", "tpr_at_fpr_1pct", "tpr_at_fpr_5pct", "accuracy",
               "balanced_accuracy", "recall", "specificity", "log_loss", "brier", "ece")
ROW_DEFAULT_METRICS = ("accuracy", "balanced_accuracy", "recall", "specificity")
BAND_METRICS = ("uncertain_share", "confident_accuracy")  # rows of a model with an uncertain band


def reals_flagged(summary: dict) -> tuple[float | None, tuple[float, float] | None]:
    """The false-positive rate at the stored threshold (1 - specificity) and its 95% interval, mirrored; None for
    a set without real images."""
    spec, ci = summary["specificity"], summary["ci95"].get("specificity")
    if spec is None or not summary["n_real"]:
        return None, None
    return 1 - spec, (1 - ci[1], 1 - ci[0]) if ci else None


def headline_row(summary: dict) -> dict:
    """One flat table row: threshold-free metrics, threshold metrics at the stored threshold and at 0.5,
    each with its 95% interval as ``<metric>_ci_low`` / ``<metric>_ci_high``."""
    row: dict = {"n": summary["n"], "n_real": summary["n_real"], "n_fake": summary["n_fake"],
                 "threshold": summary["threshold"]}

    def put(name: str, value, ci) -> None:
        row[name] = value
        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci if ci else (None, None)

    for key in ROW_METRICS:
        put(key, summary[key], summary["ci95"].get(key))
    put("false_positive_rate", *reals_flagged(summary))
    default = summary["at_default"]
    for key in ROW_DEFAULT_METRICS:
        put(f"{key}_at_0.5", default[key], default["ci95"].get(key))
    if "uncertain" in summary:
        for key in BAND_METRICS:
            put(key, summary["uncertain"][key], summary["uncertain"]["ci95"].get(key))
    return row
