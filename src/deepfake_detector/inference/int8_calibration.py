"""The face photos int8 quantisation calibrates its activation ranges on, read at run time, never shipped.

int8 is only as good as its calibration: the photos must look like what the model scores (faces, real and
generated). ``DEEPFAKE_DETECTOR_CALIBRATION`` names a folder of such photos (searched recursively; e.g. a
validation split); without it there is no int8 engine, and the load says so and keeps fp32.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.inference.engine import engine_input

ENV = "DEEPFAKE_DETECTOR_CALIBRATION"
DEFAULT_COUNT = 32
SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True)
class Calibration:
    batch: np.ndarray  # normalised float32 (N, 3, H, W)
    key: str  # names the photo set (their paths and sizes), part of the int8 model's cache key


def calibration_files(folder: str | Path, count: int = DEFAULT_COUNT) -> list[Path]:
    """``count`` photos spread evenly over the sorted files of ``folder`` (so real and fake subfolders mix)."""
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    step = max(1, len(files) // count)
    return files[::step][:count]


def load_calibration(preprocess: Preprocess, folder: str | Path | None = None,
                     count: int = DEFAULT_COUNT) -> Calibration | None:
    """The calibration batch from ``folder`` (default: ``$DEEPFAKE_DETECTOR_CALIBRATION``); None without photos."""
    from PIL import Image

    folder = folder or os.environ.get(ENV)
    files = calibration_files(folder, count) if folder and Path(folder).is_dir() else []
    if not files:
        return None
    h, w = preprocess.input_size
    resample = Image.Resampling[preprocess.interpolation.upper()]
    crops = np.stack([np.asarray(Image.open(f).convert("RGB").resize((w, h), resample)) for f in files])
    digest = hashlib.sha256("\n".join(f"{f.name}:{f.stat().st_size}" for f in files).encode()).hexdigest()[:12]
    return Calibration(engine_input(crops, preprocess.mean, preprocess.std), digest)
