"""Score a list of labelled samples through the prediction pipeline, optionally altered, keeping unreadable
files aside.

Evaluation runs exactly what ``predict`` runs (``inference/analyze.py``: decode, faces or the whole image,
crops, the model), so a figure in a report is what a user gets for the same photos and ``faces`` mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from deepfake_detector.data.perturb import PerturbFn
from deepfake_detector.data.samples import BadFile, Sample
from deepfake_detector.errors import DatasetError
from deepfake_detector.inference.analyze import Alter
from deepfake_detector.inference.feature_cache import feature_cache
from deepfake_detector.inference.predictor import Predictor


@dataclass
class Scored:
    """Labels and P(fake) of the readable samples, in sample order, and the files that failed."""

    samples: list[Sample]  # the readable ones, aligned with labels and p_fake
    labels: np.ndarray
    p_fake: np.ndarray
    bad: list[BadFile]


def as_alter(perturb: PerturbFn) -> Alter:
    """A perturbation of decoded uint8 tensors ``(3, H, W)`` applied to the pipeline's arrays ``(H, W, 3)``."""
    def alter(image: np.ndarray, index: int) -> np.ndarray:
        # a copy: decoded arrays are read-only views of Pillow's buffer
        changed = perturb(torch.from_numpy(np.array(image)).permute(2, 0, 1), index)
        return np.ascontiguousarray(changed.permute(1, 2, 0).numpy())
    return alter


def score_samples(predictor: Predictor, samples: list[Sample], *, faces: str = "auto", batch_size: int = 64,
                  progress: bool = True, perturb: PerturbFn | None = None) -> Scored:
    """Score every sample (after ``perturb``, if given) as ``predict`` would with ``faces``; DatasetError when
    none could be read. A frozen encoder's features come from the feature cache (``inference/feature_cache.py``)."""
    with feature_cache(predictor):
        predictions = predictor.predict_images([s.path for s in samples], batch_size, progress, faces,
                                               as_alter(perturb) if perturb is not None else None)
    bad = [BadFile(str(s.path), p.error) for s, p in zip(samples, predictions, strict=True) if p.error]
    kept = [(s, p.p_fake) for s, p in zip(samples, predictions, strict=True) if p.error is None]
    if not kept:
        raise DatasetError(f"no readable images to evaluate ({len(bad)} bad files)")
    return Scored([s for s, _ in kept], np.array([s.label for s, _ in kept]),
                  np.array([p for _, p in kept], dtype=float), bad)
