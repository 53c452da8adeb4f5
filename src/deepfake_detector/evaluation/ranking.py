"""Threshold-free ranking metrics (ROC-AUC, average precision, EER, TPR at a fixed FPR), vectorised.

Every function takes per-sample weights ``w`` of shape ``(B, n)``: a row of ones is the plain estimate,
a row of bootstrap counts a resample. The ROC is built once per row over the *distinct* scores, so
tied scores are handled exactly as scikit-learn does (one ROC point per distinct threshold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Roc:
    """ROC points per row, from the highest threshold down; column 0 is the (0, 0) corner."""

    thresholds: np.ndarray  # (T,) distinct scores, descending; point k+1 calls fake score >= thresholds[k]
    tp: np.ndarray  # (B, T+1) weighted true positives at each point
    fp: np.ndarray  # (B, T+1)

    @property
    def tpr(self) -> np.ndarray:
        return _safe_div(self.tp, self.tp[:, -1:])

    @property
    def fpr(self) -> np.ndarray:
        return _safe_div(self.fp, self.fp[:, -1:])

    @property
    def defined(self) -> np.ndarray:
        """Rows holding both classes (ranking metrics are NaN elsewhere)."""
        return (self.tp[:, -1] > 0) & (self.fp[:, -1] > 0)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den != 0)


def roc_points(y: np.ndarray, scores: np.ndarray, w: np.ndarray) -> Roc:
    """Weighted cumulative TP/FP counts at every distinct score, highest first."""
    order = np.argsort(-scores, kind="stable")
    s, pos = scores[order], (y[order] == 1)
    ws = np.atleast_2d(w)[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    tp = np.add.reduceat(ws * pos, starts, axis=1).cumsum(axis=1)
    fp = np.add.reduceat(ws * ~pos, starts, axis=1).cumsum(axis=1)
    zero = np.zeros((ws.shape[0], 1))
    return Roc(s[starts], np.hstack([zero, tp]), np.hstack([zero, fp]))


def _masked(values: np.ndarray, roc: Roc) -> np.ndarray:
    return np.where(roc.defined, values, np.nan)


def roc_auc(roc: Roc) -> np.ndarray:
    """Area under the ROC curve (trapezoids, so ties count one half, as Mann-Whitney)."""
    fpr, tpr = roc.fpr, roc.tpr
    return _masked(np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1), roc)


def average_precision(roc: Roc) -> np.ndarray:
    """Average precision, sum of (R_k - R_{k-1}) P_k over distinct thresholds (scikit-learn's definition)."""
    tp, fp = roc.tp[:, 1:], roc.fp[:, 1:]
    precision = np.divide(tp, tp + fp, out=np.ones_like(tp), where=(tp + fp) > 0)
    return _masked(np.sum(np.diff(roc.tpr, axis=1) * precision, axis=1), roc)


def tpr_at_fpr(roc: Roc, target: float) -> np.ndarray:
    """Highest TPR among ROC points whose FPR is at most ``target`` (no interpolation)."""
    fpr, tpr = roc.fpr, roc.tpr
    return _masked(np.max(np.where(fpr <= target + 1e-12, tpr, 0.0), axis=1), roc)


def eer_crossing(roc: Roc) -> tuple[np.ndarray, np.ndarray]:
    """Index k of the first ROC point with FPR >= FNR (k >= 1), and the interpolated EER per row."""
    fpr, fnr = roc.fpr, 1 - roc.tpr
    d = np.nan_to_num(fpr - fnr, nan=1.0)  # rises from -1 at (0,0) to +1 at (1,1)
    k = np.argmax(d >= 0, axis=1)
    k = np.maximum(k, 1)
    rows = np.arange(len(k))
    d0, d1 = d[rows, k - 1], d[rows, k]
    t = np.divide(-d0, d1 - d0, out=np.zeros_like(d0), where=d1 != d0)
    eer = fpr[rows, k - 1] + t * (fpr[rows, k] - fpr[rows, k - 1])
    return k, _masked(eer, roc)


def equal_error_rate(roc: Roc) -> np.ndarray:
    """Error rate where FPR equals FNR, linearly interpolated between the two ROC points that bracket it."""
    return eer_crossing(roc)[1]
