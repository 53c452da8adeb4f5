"""Calibration of P(fake): log-loss, Brier score, expected calibration error, reliability bins, and
temperature scaling (one scalar T fitted on validation: P = sigmoid(logit / T)).

Metric functions take per-sample weights ``w`` (B, n) like ``ranking.py``, one value per row.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

EPS = 1e-7
N_BINS = 15


def _weighted_mean(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    w = np.atleast_2d(w)
    return (w @ values) / w.sum(axis=1)


def log_loss(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mean binary cross-entropy in nats (probabilities clipped to [1e-7, 1 - 1e-7])."""
    p = np.clip(p, EPS, 1 - EPS)
    return _weighted_mean(-(y * np.log(p) + (1 - y) * np.log1p(-p)), w)


def brier_score(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mean squared error of P(fake) against the 0/1 label."""
    return _weighted_mean((p - y) ** 2, w)


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    return np.clip((p * n_bins).astype(int), 0, n_bins - 1)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, w: np.ndarray,
                               n_bins: int = N_BINS) -> np.ndarray:
    """ECE of P(fake) over ``n_bins`` equal-width bins: sum_b (n_b / n) |fraction fake_b - mean P_b|."""
    onehot = np.eye(n_bins)[_bin_index(p, n_bins)]  # (n, bins)
    w = np.atleast_2d(w)
    gap = w @ ((y - p)[:, None] * onehot)  # (B, bins): n_b * (fraction fake - mean P)
    return np.abs(gap).sum(axis=1) / w.sum(axis=1)


def reliability_bins(y: np.ndarray, p: np.ndarray, n_bins: int = N_BINS) -> list[dict]:
    """Per bin: range, count, mean P(fake) and observed fraction of fakes (for the reliability diagram)."""
    idx = _bin_index(p, n_bins)
    rows = []
    for b in range(n_bins):
        m = idx == b
        rows.append({"bin_low": b / n_bins, "bin_high": (b + 1) / n_bins, "count": int(m.sum()),
                     "mean_p_fake": float(p[m].mean()) if m.any() else None,
                     "fraction_fake": float(y[m].mean()) if m.any() else None})
    return rows


def to_logits(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def apply_temperature(p: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities as sigmoid(logit(p) / T)."""
    return 1 / (1 + np.exp(-to_logits(p) / temperature))


def fit_temperature(y: np.ndarray, p: np.ndarray) -> float:
    """The T in [0.05, 20] minimising validation log-loss of sigmoid(logit(p) / T)."""
    y, z = np.asarray(y, dtype=float), to_logits(p)
    ones = np.ones((1, len(y)))

    def nll(log_t: float) -> float:
        return float(log_loss(y, 1 / (1 + np.exp(-z / np.exp(log_t))), ones)[0])

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(res.x))
