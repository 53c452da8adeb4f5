"""Choose a model's operating point on its validation split: optional temperature, then a threshold.

The result goes into ``model.json`` (``threshold``, ``threshold_policy``, ``temperature``,
``threshold_selection``), so ``predict`` and ``evaluate`` use it without seeing any test data.
"""

from __future__ import annotations

import numpy as np

from deepfake_detector.data.samples import Sample
from deepfake_detector.evaluation.calibration import apply_temperature, fit_temperature
from deepfake_detector.evaluation.scoring import score_samples
from deepfake_detector.evaluation.thresholds import choose_threshold, parse_policy
from deepfake_detector.inference.detector import Detector


def operating_point(y: np.ndarray, p_raw: np.ndarray, policy: str | float, temperature_scaling: bool) -> dict:
    """model.json fields from validation labels and *uncalibrated* P(fake)."""
    temperature = fit_temperature(y, p_raw) if temperature_scaling else None
    p = apply_temperature(p_raw, temperature) if temperature else p_raw
    choice = choose_threshold(y, p, policy)
    return {"threshold": choice.threshold, "threshold_policy": choice.policy, "temperature": temperature,
            "threshold_selection": {"split": "valid", "n": len(y), "val_tpr": choice.val_tpr,
                                    "val_fpr": choice.val_fpr}}


def calibrate_detector(detector: Detector, valid: list[Sample], policy: str | float, *,
                       temperature_scaling: bool = False, batch_size: int = 64,
                       progress: bool = True) -> dict:
    """Score ``valid`` (temperature reset to 1), pick the operating point and apply it to ``detector``."""
    policy = parse_policy(policy)
    if not temperature_scaling and policy[0].isdigit():  # a fixed threshold needs no validation scores
        point = {"threshold": float(policy), "threshold_policy": policy, "temperature": None}
        detector.threshold, detector.temperature = point["threshold"], 1.0
        detector.meta.update(point)
        return point
    detector.temperature = 1.0
    scored = score_samples(detector, valid, batch_size=batch_size, progress=progress)
    point = operating_point(scored.labels, scored.p_fake, policy, temperature_scaling)
    detector.threshold = point["threshold"]
    detector.temperature = point["temperature"] or 1.0
    detector.meta.update(point)
    return point
