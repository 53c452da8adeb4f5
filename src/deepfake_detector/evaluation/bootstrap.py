"""Seeded, vectorised bootstrap confidence intervals for every headline metric.

Resampling is stratified by class (each resample keeps the test set's real/fake counts), drawn as
multinomial counts, so all resamples are scored at once by the same weighted metric code that gives
the point estimates (``metrics.py``). Intervals are percentile intervals.
"""

from __future__ import annotations

import numpy as np

from deepfake_detector.evaluation.metrics import (
    THRESHOLD_KEYS,
    confusion_rates,
    threshold_free_metrics,
    weighted_confusion,
)
from deepfake_detector.evaluation.uncertainty import band_rates

N_RESAMPLES = 1000
CONFIDENCE = 0.95


def resample_weights(y: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = 0) -> np.ndarray:
    """(n_resamples, n) counts: how often each sample is drawn, stratified by class."""
    rng = np.random.default_rng(seed)
    w = np.zeros((n_resamples, len(y)))
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        w[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1 / len(idx)), size=n_resamples)
    return w


def _interval(values: np.ndarray, confidence: float) -> list[float] | None:
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    tail = (1 - confidence) / 2 * 100
    return [float(v) for v in np.percentile(values, [tail, 100 - tail])]


def threshold_cis(y: np.ndarray, scores: np.ndarray, threshold: float, w: np.ndarray,
                  confidence: float = CONFIDENCE) -> dict[str, list[float] | None]:
    """Intervals for the threshold metrics (accuracy, precision, recall, F1, ...) at ``threshold``."""
    rates = confusion_rates(*weighted_confusion(y, scores, threshold, w))
    return {k: _interval(rates[k], confidence) for k in THRESHOLD_KEYS}


def band_cis(y: np.ndarray, scores: np.ndarray, low: float, high: float, w: np.ndarray,
             confidence: float = CONFIDENCE) -> dict[str, list[float] | None]:
    """Intervals for an uncertain band's share of inputs and the accuracy of the verdicts outside it."""
    return {k: _interval(v, confidence) for k, v in band_rates(y, scores, low, high, w).items()}


def threshold_free_cis(y: np.ndarray, scores: np.ndarray, w: np.ndarray,
                       confidence: float = CONFIDENCE) -> dict[str, list[float] | None]:
    """Intervals for ROC-AUC, AP, EER, TPR at fixed FPR, log-loss, Brier and ECE."""
    return {k: _interval(v, confidence) for k, v in threshold_free_metrics(y, scores, w).items()}


def confusion_cis(tp: int, tn: int, fp: int, fn: int, n_resamples: int = N_RESAMPLES, seed: int = 0,
                  confidence: float = CONFIDENCE) -> dict[str, list[float] | None]:
    """The same stratified bootstrap when only a confusion matrix is known (e.g. a paper's): per class,
    the resampled count of correct calls is binomial."""
    rng = np.random.default_rng(seed)
    tp_b = rng.binomial(tp + fn, tp / max(1, tp + fn), n_resamples)
    tn_b = rng.binomial(tn + fp, tn / max(1, tn + fp), n_resamples)
    rates = confusion_rates(tp_b, tn_b, tn + fp - tn_b, tp + fn - tp_b)
    return {k: _interval(rates[k], confidence) for k in THRESHOLD_KEYS}
