"""Decision-threshold policies, applied to *validation* scores only (never to test data).

* ``0.5`` (or any number in (0, 1)): a fixed threshold;
* ``youden``: maximise TPR - FPR (Youden's J);
* ``eer``: the ROC point where FPR and FNR are closest (equal error rate);
* ``fpr:0.05``: the highest TPR whose FPR is at most the target (0.05 here).

A chosen ROC point keeps exactly its validation predictions, but the threshold is placed halfway
to the next lower validation score, so it does not sit on the edge of one image's score.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from deepfake_detector.config import parse_policy
from deepfake_detector.evaluation.ranking import roc_points


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    policy: str
    val_tpr: float | None = None
    val_fpr: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def choose_threshold(y_true, scores, policy: str | float) -> ThresholdChoice:
    """The threshold ``policy`` picks from validation labels and scores (P(fake) >= threshold means fake)."""
    policy = parse_policy(policy)
    if policy not in ("youden", "eer") and not policy.startswith("fpr:"):
        return ThresholdChoice(float(policy), policy)
    y, s = np.asarray(y_true).astype(int), np.asarray(scores, dtype=float)
    if len(np.unique(y)) < 2:
        raise ValueError(f"threshold policy '{policy}' needs validation images of both classes")
    roc = roc_points(y, s, np.ones((1, len(y))))
    tpr, fpr = roc.tpr[0], roc.fpr[0]
    if policy == "youden":
        k = int(np.argmax(tpr - fpr))
    elif policy == "eer":
        k = int(np.argmin(np.abs(fpr - (1 - tpr))))
    else:
        allowed = np.flatnonzero(fpr <= float(policy[4:]) + 1e-12)
        k = int(allowed[np.argmax(tpr[allowed])])
    return ThresholdChoice(_threshold_for_point(roc.thresholds, k), policy, float(tpr[k]), float(fpr[k]))


def _threshold_for_point(thresholds: np.ndarray, k: int) -> float:
    """Point k calls fake the k highest distinct scores: put the cut halfway below the k-th one."""
    if k == 0:  # nothing called fake
        return float(np.nextafter(thresholds[0], np.inf))
    upper = thresholds[k - 1]
    lower = thresholds[k] if k < len(thresholds) else upper
    return float((upper + lower) / 2)
