"""Decision-threshold policies, applied to *validation* scores only (never to test data).

* ``0.5`` (or any number in (0, 1)): a fixed threshold;
* ``youden``: maximise TPR - FPR (Youden's J);
* ``eer``: the ROC point where FPR and FNR are closest (equal error rate);
* ``fpr:0.05``: the highest TPR whose FPR is at most the target (0.05 here);
* ``fpr:0.02@worst-source``: the highest TPR at which *every* real source's FPR is at most the target, so
  the hardest real photos (e.g. tightly cropped ones) set the threshold, not an average that easy ones dilute.

A chosen ROC point keeps exactly its validation predictions, but the threshold is placed halfway
to the next lower validation score, so it does not sit on the edge of one image's score.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from deepfake_detector.config import WORST_SOURCE, parse_policy
from deepfake_detector.evaluation.ranking import roc_points

UNNAMED_SOURCE = "(unnamed)"  # how a sample without a source name is listed among the sources


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    policy: str
    val_tpr: float | None = None
    val_fpr: float | None = None
    # Each real source's validation FPR at the threshold (when the samples' sources were given).
    val_fpr_by_source: dict[str, float] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def choose_threshold(y_true, scores, policy: str | float, sources: Sequence[str] | None = None) -> ThresholdChoice:
    """The threshold ``policy`` picks from validation labels and scores (P(fake) >= threshold means fake).

    ``sources``: each sample's source name (``Sample.source``). The ``@worst-source`` policies need them;
    without them the samples are one source, whose FPR is the pooled one: that is what is applied, with a
    warning (refusing would break callers that hold one set, such as a folder of validation videos).
    """
    policy = parse_policy(policy)
    if policy not in ("youden", "eer") and not policy.startswith("fpr:"):
        return ThresholdChoice(float(policy), policy)
    y, s = np.asarray(y_true).astype(int), np.asarray(scores, dtype=float)
    if len(np.unique(y)) < 2:
        raise ValueError(f"threshold policy '{policy}' needs validation images of both classes")
    if policy.endswith(WORST_SOURCE) and sources is None:
        warnings.warn(f"threshold policy '{policy}' got no source names: every validation real counts as one "
                      "source, so the pooled false-positive rate is held to the target", stacklevel=2)
        policy = policy.removesuffix(WORST_SOURCE)
    names = _real_sources(y, sources)
    # Row 0: every sample; row 1 + i: the fakes and source i's reals, so its FPR is that source's.
    rows = [np.ones(len(y))] + [((y == 1) | (np.asarray(sources) == name)).astype(float) for name in names]
    roc = roc_points(y, s, np.vstack(rows))
    tpr, fpr = roc.tpr[0], roc.fpr[0]
    if policy == "youden":
        k = int(np.argmax(tpr - fpr))
    elif policy == "eer":
        k = int(np.argmin(np.abs(fpr - (1 - tpr))))
    else:
        target = float(policy[4:].removesuffix(WORST_SOURCE))
        held = roc.fpr[1:].max(axis=0) if policy.endswith(WORST_SOURCE) else fpr
        allowed = np.flatnonzero(held <= target + 1e-12)  # never empty: calling nothing fake has FPR 0
        k = int(allowed[np.argmax(tpr[allowed])])
    by_source = ({name or UNNAMED_SOURCE: float(roc.fpr[1 + i, k]) for i, name in enumerate(names)}
                 if sources is not None else None)
    return ThresholdChoice(_threshold_for_point(roc.thresholds, k), policy, float(tpr[k]), float(fpr[k]), by_source)


def _real_sources(y: np.ndarray, sources: Sequence[str] | None) -> list[str]:
    """The sorted names of the sources holding validation reals ([] without source names)."""
    if sources is None:
        return []
    if len(sources) != len(y):
        raise ValueError(f"got {len(sources)} source names for {len(y)} validation scores")
    return sorted({name for name, label in zip(sources, y, strict=True) if label == 0})


def _threshold_for_point(thresholds: np.ndarray, k: int) -> float:
    """Point k calls fake the k highest distinct scores: put the cut halfway below the k-th one."""
    if k == 0:  # nothing called fake
        return float(np.nextafter(thresholds[0], np.inf))
    upper = thresholds[k - 1]
    lower = thresholds[k] if k < len(thresholds) else upper
    return float((upper + lower) / 2)
