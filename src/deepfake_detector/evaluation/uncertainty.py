"""The "uncertain" band: two thresholds around the decision threshold, chosen on *validation* scores only.

Below ``low`` the verdict is "real", at or above ``high`` "fake", in between "uncertain" (the rule itself
lives in ``inference/verdict.py``). :func:`choose_band` picks the band that leaves the fewest validation
inputs uncertain while the confident verdicts (those outside it) are right at least ``target_accuracy`` of
the time. The band always holds the threshold (``low <= threshold <= high``); when the threshold's own
verdicts already meet the target the band is empty (``low == high == threshold``).

Like the threshold, each edge is placed halfway between two neighbouring validation scores, so it never
sits on one image's score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from deepfake_detector.errors import DeepfakeDetectorError
from deepfake_detector.models.meta import ModelMeta

POLICY_PREFIX = "accuracy:"


class BandUnreachableError(DeepfakeDetectorError, ValueError):
    """No band around the threshold makes the confident validation verdicts right often enough."""


@dataclass(frozen=True)
class UncertainBand:
    """``[low, high)``: where the model answers "uncertain"; chosen on ``n`` validation inputs."""

    low: float
    high: float
    policy: str  # "accuracy:<target>"
    share: float  # of the validation inputs inside the band
    confident_accuracy: float  # of the validation verdicts outside it
    n: int

    @property
    def target_accuracy(self) -> float:
        return float(self.policy.removeprefix(POLICY_PREFIX))

    def to_dict(self) -> dict[str, Any]:
        """The ``uncertain`` entry of model.json."""
        return {"low": self.low, "high": self.high, "policy": self.policy,
                "selection": {"split": "valid", "n": self.n, "share": self.share,
                              "confident_accuracy": self.confident_accuracy}}

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> UncertainBand:
        """A band as model.json stores it (see :meth:`to_dict`)."""
        selection = stored.get("selection") or {}
        return cls(float(stored["low"]), float(stored["high"]), str(stored.get("policy", "")),
                   float(selection.get("share", float("nan"))),
                   float(selection.get("confident_accuracy", float("nan"))), int(selection.get("n", 0)))


def stored_band(meta: ModelMeta) -> UncertainBand | None:
    """The band a model.json holds (``uncertain``), if any."""
    return UncertainBand.from_dict(meta.uncertain.model_dump()) if meta.uncertain else None


def band_rates(y: np.ndarray, p: np.ndarray, low: float, high: float, w: np.ndarray) -> dict[str, np.ndarray]:
    """Share of inputs inside ``[low, high)`` and accuracy of the verdicts outside it, one value per row of the
    sample weights ``w`` (B, n), as ``metrics.confusion_rates`` (NaN accuracy when every input is uncertain)."""
    y, p, w = np.asarray(y), np.asarray(p, dtype=float), np.atleast_2d(w)
    inside = (p >= low) & (p < high)
    right = ((p < low) & (y == 0)) | ((p >= high) & (y == 1))
    total, outside = w.sum(axis=1), w @ ~inside
    accuracy = np.divide(w @ right, outside, out=np.full(len(w), np.nan), where=outside > 0)
    return {"uncertain_share": (w @ inside) / total, "confident_accuracy": accuracy}


def choose_band(y_true, p_fake, threshold: float, target_accuracy: float = 0.98) -> UncertainBand:
    """The band holding ``threshold`` with the fewest validation inputs inside, among those whose outside
    verdicts are right at least ``target_accuracy`` of the time (ties: the more accurate, then the narrower).

    BandUnreachableError when no band does (only a band holding every input would, which answers nothing).
    """
    y, p = np.asarray(y_true).astype(int), np.asarray(p_fake, dtype=float)
    if not 0 < target_accuracy <= 1:
        raise ValueError(f"target accuracy must lie in (0, 1], got {target_accuracy}")
    if not len(y):
        raise ValueError("an uncertain band needs validation scores")
    # Verdicts the threshold alone gives: below it real, at or above it fake. The band grows from the
    # threshold outwards: it takes the highest-scored "real" verdicts and the lowest-scored "fake" ones.
    down = _Side(p[p < threshold], y[p < threshold] == 0, threshold, lower=True)
    up = _Side(p[p >= threshold], y[p >= threshold] == 1, threshold, lower=False)
    best: tuple | None = None  # (inside, -accuracy, width, i, j)
    rows = max(1, 2_000_000 // len(up.outside))  # bounded memory: the pairs are scored a block of rows at a time
    for first in range(0, len(down.outside), rows):
        i = np.arange(first, min(first + rows, len(down.outside)))
        n_out = down.outside[i, None] + up.outside[None, :]
        n_right = down.right[i, None] + up.right[None, :]
        ok = (n_out > 0) & (n_right >= target_accuracy * n_out - 1e-9)
        reaching = ok.any(axis=1)
        if not reaching.any():
            continue
        # Per lower edge, the first upper edge that meets the target leaves the fewest inside.
        i, j = i[reaching], ok.argmax(axis=1)[reaching]
        out = down.outside[i] + up.outside[j]
        accuracy = (down.right[i] + up.right[j]) / out
        width = up.edges[j] - down.edges[i]
        k = np.lexsort((width, -accuracy, -out))[0]
        candidate = (len(y) - int(out[k]), -float(accuracy[k]), float(width[k]), int(i[k]), int(j[k]))
        best = candidate if best is None else min(best, candidate)
    if best is None:
        alone = (down.right[0] + up.right[0]) / len(y)
        raise BandUnreachableError(
            f"no uncertain band reaches {target_accuracy:g} confident accuracy on the {len(y)} validation inputs "
            f"(the threshold alone is right {alone:.3f} of the time); lower the target or improve the model")
    inside, minus_accuracy, _, i, j = best
    return UncertainBand(float(down.edges[i]), float(up.edges[j]), f"{POLICY_PREFIX}{target_accuracy:g}",
                         inside / len(y), -minus_accuracy, len(y))


class _Side:
    """The verdicts on one side of the threshold, ordered away from it, and the band edges they allow:
    for each candidate edge, the verdicts it leaves outside the band and how many of those are right."""

    def __init__(self, scores: np.ndarray, right: np.ndarray, threshold: float, lower: bool) -> None:
        order = np.argsort(-scores if lower else scores, kind="stable")
        s, r = scores[order], right[order]
        # The band can only stop between two distinct scores (tied inputs share one verdict).
        ends = np.r_[np.flatnonzero(s[1:] != s[:-1]) + 1, len(s)] if len(s) else np.zeros(0, int)
        taken = np.r_[0, ends]  # inputs inside the band at each candidate edge, the threshold's first
        self.outside = len(s) - taken
        self.right = int(r.sum()) - np.r_[0, np.cumsum(r)][taken]
        last_in, first_out = s[ends - 1], s[np.minimum(ends, len(s) - 1)]
        edges = (last_in + first_out) / 2  # halfway to the next score, which stays outside
        if len(s):  # everything on this side inside: "p < low" must miss the lowest score, "p >= high" the highest
            edges[-1] = s[-1] if lower else np.nextafter(s[-1], np.inf)
        self.edges = np.r_[threshold, edges]
        if not lower and len(s) and s[-1] >= 1:  # high <= 1 (model.json's contract): P(fake) = 1 stays "fake"
            self.outside, self.right, self.edges = self.outside[:-1], self.right[:-1], self.edges[:-1]
