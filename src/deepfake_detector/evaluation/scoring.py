"""Score a list of samples with a detector, optionally perturbed, keeping unreadable files aside."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepfake_detector.data.dataset import ImageDataset
from deepfake_detector.data.samples import BadFile, Sample
from deepfake_detector.errors import DatasetError
from deepfake_detector.evaluation.perturb import PerturbFn
from deepfake_detector.inference.detector import Detector


@dataclass
class Scored:
    """Labels and P(fake) of the readable samples, in sample order, and the files that failed."""

    samples: list[Sample]  # the readable ones, aligned with labels and p_fake
    labels: np.ndarray
    p_fake: np.ndarray
    bad: list[BadFile]


def score_samples(detector: Detector, samples: list[Sample], *, batch_size: int = 64, progress: bool = True,
                  perturb: PerturbFn | None = None) -> Scored:
    """Score every sample (after ``perturb``, if given); DatasetError when none could be read."""
    dataset = ImageDataset(samples, detector.preprocess, detector.transform, cache=False, perturb=perturb)
    scores, errors = detector.score_dataset(dataset, batch_size=batch_size, progress=progress)
    bad = [BadFile(str(samples[i].path), r) for i, r in sorted(errors.items())]
    order = sorted(scores)
    if not order:
        raise DatasetError(f"no readable images to evaluate ({len(bad)} bad files)")
    return Scored([samples[i] for i in order], np.array([samples[i].label for i in order]),
                  np.array([scores[i] for i in order]), bad)
