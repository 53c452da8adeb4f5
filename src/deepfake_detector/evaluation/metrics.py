"""Binary detection metrics with fake = positive class.

Headline metrics are computed from the confusion matrix itself, so a report can never state an
accuracy its own matrix contradicts (seed paper 1 did: see SPEC.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def confusion_counts(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, int]:
    t = np.asarray(y_true).astype(int)
    p = np.asarray(y_pred).astype(int)
    return {
        "tp": int(np.sum((t == 1) & (p == 1))),
        "tn": int(np.sum((t == 0) & (p == 0))),
        "fp": int(np.sum((t == 0) & (p == 1))),
        "fn": int(np.sum((t == 1) & (p == 0))),
    }


def metrics_from_confusion(tp: int, tn: int, fp: int, fn: int) -> dict[str, float]:
    """Accuracy, precision, recall, F1 (fake class) and the per-class report, from the four counts."""
    n = tp + tn + fp + fn
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    real_precision = _ratio(tn, tn + fn)
    real_recall = _ratio(tn, tn + fp)

    def f1(p: float, r: float) -> float:
        return _ratio(2 * p * r, p + r)

    return {
        "n": n, "tp": tp, "tn": tn, "fp": fp, "fn": fn,
        "accuracy": _ratio(tp + tn, n),
        "precision": precision,
        "recall": recall,
        "f1": f1(precision, recall),
        "specificity": real_recall,
        "per_class": {
            "real": {"precision": real_precision, "recall": real_recall,
                     "f1": f1(real_precision, real_recall), "support": tn + fp},
            "fake": {"precision": precision, "recall": recall, "f1": f1(precision, recall), "support": tp + fn},
        },
    }


def binary_metrics(y_true: Sequence[int], scores: Sequence[float], threshold: float = 0.5) -> dict:
    """All threshold metrics at ``threshold`` plus the threshold-free ROC-AUC and average precision."""
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=float)
    out = metrics_from_confusion(**confusion_counts(y, (s >= threshold).astype(int)))
    out["threshold"] = float(threshold)
    both_classes = len(np.unique(y)) == 2
    out["roc_auc"] = float(roc_auc_score(y, s)) if both_classes else None
    out["average_precision"] = float(average_precision_score(y, s)) if both_classes else None
    return out
