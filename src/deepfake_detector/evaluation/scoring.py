"""Score a list of samples with a detector, optionally perturbed, keeping unreadable files aside."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from deepfake_detector.data.dataset import ImageDataset
from deepfake_detector.data.perturb import PerturbFn
from deepfake_detector.data.samples import BadFile, Sample
from deepfake_detector.errors import DatasetError
from deepfake_detector.inference.detector import Detector
from deepfake_detector.models.feature_store import FeatureStore, row_key
from deepfake_detector.models.weights.fetch import cache_dir


@dataclass
class Scored:
    """Labels and P(fake) of the readable samples, in sample order, and the files that failed."""

    samples: list[Sample]  # the readable ones, aligned with labels and p_fake
    labels: np.ndarray
    p_fake: np.ndarray
    bad: list[BadFile]


def score_samples(detector: Detector, samples: list[Sample], *, batch_size: int = 64, progress: bool = True,
                  perturb: PerturbFn | None = None) -> Scored:
    """Score every sample (after ``perturb``, if given); DatasetError when none could be read.

    A model whose frozen backbone's features are all in the feature cache (``models/feature_store.py``) is
    scored from them: the head alone, the same function without running the encoder again.
    """
    cached = cached_scores(detector, samples) if perturb is None else None
    if cached is not None:
        return Scored(list(samples), np.array([s.label for s in samples]), cached, [])
    dataset = ImageDataset(samples, detector.preprocess, detector.transform, cache=False, perturb=perturb)
    scores, errors = detector.score_dataset(dataset, batch_size=batch_size, progress=progress)
    bad = [BadFile(str(samples[i].path), r) for i, r in sorted(errors.items())]
    order = sorted(scores)
    if not order:
        raise DatasetError(f"no readable images to evaluate ({len(bad)} bad files)")
    return Scored([samples[i] for i in order], np.array([samples[i].label for i in order]),
                  np.array([scores[i] for i in order]), bad)


@torch.inference_mode()
def cached_scores(detector: Detector, samples: list[Sample]) -> np.ndarray | None:
    """P(fake) from cached backbone features when every sample's are cached (clean view); else None."""
    model = detector.model
    key = model.feature_key()
    if not key or not samples or os.environ.get("DEEPFAKE_DETECTOR_FEATURE_CACHE", "on") == "off":
        return None
    store = FeatureStore(cache_dir() / "features", key)
    try:
        keys = [row_key(s.path, "clean") for s in samples]
    except OSError:
        return None  # an unreadable file: the normal path reports it
    rows = store.get(keys)
    if len(rows) < len(keys):
        return None
    features = torch.stack([rows[k] for k in keys])
    logits = model.head.float().cpu()(features).squeeze(1)
    return torch.sigmoid(logits / detector.temperature).numpy().astype(float)
