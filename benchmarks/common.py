"""Shared helpers for the benchmarks: data location, timing (median of repeats), peak memory, table rows."""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deepfake_detector.data import discover
from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.data.transforms import build_transform
from deepfake_detector.faces.crop import crop_regions, whole_image
from deepfake_detector.inference.analyze import load_input

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEEPFAKE_DETECTOR_SHARED", REPO.parent / "shared"))
DATA_140K = SHARED / "data" / "140k"


@dataclass
class Settings:
    repeats: int  # timed runs per figure (the median is reported)
    n_images: int  # real images for decode and inference parity
    quick: bool


@dataclass
class Row:
    section: str
    name: str
    img_per_s: float | None
    note: str = ""
    peak_rss_mb: float = 0.0

    def __post_init__(self) -> None:
        self.peak_rss_mb = peak_rss_mb()
        rate = "n/a" if self.img_per_s is None else f"{self.img_per_s:.1f} img/s"
        print(f"  {self.name}: {rate}  {self.note}", file=sys.stderr, flush=True)  # progress


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_rate(fn: Callable[[], object], items_per_call: int, repeats: int, warmup: int = 1) -> float:
    """Items per second: the median over ``repeats`` timed calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(items_per_call / (time.perf_counter() - start))
    return statistics.median(rates)


def image_files(split: str, n: int) -> list[Path]:
    """``n`` files of a 140k split, both classes interleaved (sorted, so every run uses the same ones)."""
    samples = sorted(discover(DATA_140K).splits[split], key=lambda s: (s.path.name, s.label))
    return [s.path for s in samples[:n]]


def load_batch(files: list[Path], preprocess: Preprocess) -> torch.Tensor:
    """Decode, resize and normalise files into one float batch as the prediction pipeline does with faces off."""
    images = [load_input(f)[1] for f in files]
    crops = np.concatenate([crop_regions(image, [whole_image(image)], preprocess) for image in images])
    return build_transform(preprocess)(torch.from_numpy(crops).permute(0, 3, 1, 2))
