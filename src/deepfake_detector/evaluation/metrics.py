"""Binary detection metrics with fake = positive class.

Headline metrics are computed from the confusion matrix itself, so a report can never state an
accuracy its own matrix contradicts (seed paper 1 did: see SPEC.md). Every function here also works
on sample *weights* ``w`` of shape ``(B, n)`` (one row per bootstrap resample), so point estimates and
confidence intervals come from the very same code (see ``bootstrap.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deepfake_detector.evaluation.calibration import brier_score, expected_calibration_error, log_loss
from deepfake_detector.evaluation.ranking import (
    average_precision,
    equal_error_rate,
    roc_auc,
    roc_points,
    tpr_at_fpr,
)

# Threshold-free metrics and the false-positive rates at which the TPR is reported.
FPR_TARGETS = {"tpr_at_fpr_1pct": 0.01, "tpr_at_fpr_5pct": 0.05}
THRESHOLD_KEYS = ("accuracy", "precision", "recall", "f1", "specificity", "balanced_accuracy")
RANKING_KEYS = ("roc_auc", "average_precision", "eer", *FPR_TARGETS)
CALIBRATION_KEYS = ("log_loss", "brier", "ece")


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (an empty class has precision 0, as scikit-learn's zero_division=0)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def confusion_counts(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, int]:
    """TP, TN, FP, FN with fake (1) as the positive class."""
    t = np.asarray(y_true).astype(int)
    p = np.asarray(y_pred).astype(int)
    return {
        "tp": int(np.sum((t == 1) & (p == 1))),
        "tn": int(np.sum((t == 0) & (p == 0))),
        "fp": int(np.sum((t == 0) & (p == 1))),
        "fn": int(np.sum((t == 1) & (p == 0))),
    }


def confusion_rates(tp, tn, fp, fn) -> dict[str, np.ndarray]:
    """Threshold metrics from (arrays of) counts: accuracy, precision, recall, F1, specificity, ..."""
    precision, recall = _div(tp, tp + fp), _div(tp, tp + fn)
    real_precision, specificity = _div(tn, tn + fn), _div(tn, tn + fp)
    return {
        "accuracy": _div(tp + tn, tp + tn + fp + fn),
        "precision": precision,
        "recall": recall,
        "f1": _div(2 * precision * recall, precision + recall),
        "specificity": specificity,
        "balanced_accuracy": (recall + specificity) / 2,
        "real_precision": real_precision,
        "real_f1": _div(2 * real_precision * specificity, real_precision + specificity),
    }


def weighted_confusion(y: np.ndarray, scores: np.ndarray, threshold: float, w: np.ndarray) -> tuple:
    """(tp, tn, fp, fn) arrays, one entry per row of the weights ``w`` (B, n)."""
    pred = scores >= threshold
    pos = y == 1
    return w @ (pos & pred), w @ (~pos & ~pred), w @ (~pos & pred), w @ (pos & ~pred)


def metrics_from_confusion(tp: int, tn: int, fp: int, fn: int) -> dict:
    """Accuracy, precision, recall, F1 (fake class) and the per-class report, from the four counts."""
    r = {k: float(v) for k, v in confusion_rates(tp, tn, fp, fn).items()}
    return {
        "n": tp + tn + fp + fn, "tp": tp, "tn": tn, "fp": fp, "fn": fn,
        **{k: r[k] for k in THRESHOLD_KEYS},
        "per_class": {
            "real": {"precision": r["real_precision"], "recall": r["specificity"], "f1": r["real_f1"],
                     "support": tn + fp},
            "fake": {"precision": r["precision"], "recall": r["recall"], "f1": r["f1"], "support": tp + fn},
        },
    }


def threshold_free_metrics(y: np.ndarray, scores: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    """Ranking and calibration metrics, one value per row of ``w`` (ranking: NaN without both classes)."""
    roc = roc_points(y, scores, w)
    out = {"roc_auc": roc_auc(roc), "average_precision": average_precision(roc), "eer": equal_error_rate(roc)}
    out |= {key: tpr_at_fpr(roc, target) for key, target in FPR_TARGETS.items()}
    out |= {"log_loss": log_loss(y, scores, w), "brier": brier_score(y, scores, w),
            "ece": expected_calibration_error(y, scores, w)}
    return out


def _scalar(value: np.ndarray) -> float | None:
    v = float(np.asarray(value).reshape(-1)[0])
    return None if np.isnan(v) else v


def binary_metrics(y_true: Sequence[int], scores: Sequence[float], threshold: float = 0.5) -> dict:
    """Threshold metrics at ``threshold`` plus ROC-AUC, AP, EER, TPR at 1%/5% FPR, log-loss, Brier and ECE.

    Threshold-free metrics are ``None`` when they are undefined (e.g. ROC-AUC with one class only).
    """
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=float)
    out = metrics_from_confusion(**confusion_counts(y, (s >= threshold).astype(int)))
    out["threshold"] = float(threshold)
    out |= {k: _scalar(v) for k, v in threshold_free_metrics(y, s, np.ones((1, len(y)))).items()}
    return out
