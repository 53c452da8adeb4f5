"""The face photos int8 quantisation calibrates its activation ranges on, read at run time, never shipped.

int8 is only as good as its calibration: the photos must look like what the model scores (faces, real and
generated). ``DEEPFAKE_DETECTOR_CALIBRATION`` names a folder of such photos (searched recursively; e.g. a
validation split); without it there is no int8 engine, and the load says so and keeps fp32.

The same folder's *other* photos (none calibrated on) are int8's self-test on real photos: synthetic probes alone
let through an int8 model that changed 6% of the labels of real face photos (docs/cpu-engines.md).
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


def _photos(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())


def _spread(files: list[Path], count: int) -> list[Path]:
    step = max(1, len(files) // count)
    return files[::step][:count]


def calibration_files(folder: str | Path, count: int = DEFAULT_COUNT) -> list[Path]:
    """``count`` photos spread evenly over the sorted files of ``folder`` (so real and fake subfolders mix)."""
    return _spread(_photos(folder), count)


def check_files(folder: str | Path, count: int = DEFAULT_COUNT) -> list[Path]:
    """``count`` other photos of ``folder``, spread the same way: none of them is calibrated on."""
    calibrated = set(calibration_files(folder, count))
    return _spread([f for f in _photos(folder) if f not in calibrated], count)


def _folder(folder: str | Path | None) -> Path | None:
    folder = folder or os.environ.get(ENV)
    return Path(folder) if folder and Path(folder).is_dir() else None


def _batch(files: list[Path], preprocess: Preprocess) -> Calibration:
    from PIL import Image

    h, w = preprocess.input_size
    resample = Image.Resampling[preprocess.interpolation.upper()]
    crops = np.stack([np.asarray(Image.open(f).convert("RGB").resize((w, h), resample)) for f in files])
    digest = hashlib.sha256("\n".join(f"{f.name}:{f.stat().st_size}" for f in files).encode()).hexdigest()[:12]
    return Calibration(engine_input(crops, preprocess.mean, preprocess.std), digest)


def load_calibration(preprocess: Preprocess, folder: str | Path | None = None,
                     count: int = DEFAULT_COUNT) -> Calibration | None:
    """The calibration batch from ``folder`` (default: ``$DEEPFAKE_DETECTOR_CALIBRATION``); None without photos."""
    found = _folder(folder)
    files = calibration_files(found, count) if found else []
    return _batch(files, preprocess) if files else None


def load_check_photos(preprocess: Preprocess, folder: str | Path | None = None,
                      count: int = DEFAULT_COUNT) -> Calibration | None:
    """The photos of int8's self-test (:func:`check_files`) as a batch; None if the folder has no others."""
    found = _folder(folder)
    files = check_files(found, count) if found else []
    return _batch(files, preprocess) if files else None
