"""Where to look in a photo: every detected face (square, with margin), or the whole image, or both."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.faces.crop import FACE_MARGIN, Region, face_region, whole_image
from deepfake_detector.faces.detect import Face, FaceDetector
from deepfake_detector.faces.modes import FACE_MODES  # noqa: F401  (re-exported for check_mode users)

NO_FACE = "no face found: scored the whole image"
# A crop smaller than this fraction of the model's input side is upscaled a lot: warn.
SMALL_FACE = 0.5


@dataclass
class Located:
    """The regions to score, the faces behind them (empty: whole image) and a warning, if any.

    ``image``: the whole image, scored as well as its faces (a model whose ``framing`` is ``faces+image``);
    it is scored last, after the face regions."""

    regions: list[Region]
    faces: list[Face]
    warning: str | None = None
    image: Region | None = None

    @property
    def scored(self) -> list[Region]:
        """Every region that is scored, in order: the faces' (or the whole image), then ``image`` if set."""
        return [*self.regions, *([self.image] if self.image else [])]


def check_mode(faces: str) -> str:
    if faces not in FACE_MODES:
        raise ValueError(f"faces must be one of {', '.join(FACE_MODES)}, not {faces!r}")
    return faces


def locate(image: np.ndarray, faces: str, detector: FaceDetector | None, preprocess: Preprocess,
           margin: float = FACE_MARGIN, with_image: bool = False) -> Located:
    """Regions of an RGB ``image`` (H, W, 3) to score: one per face with ``faces="auto"``, else the whole image.

    ``with_image``: when faces are found, the whole image is scored too (unless a face's region already is it).
    """
    if check_mode(faces) == "off" or detector is None:
        return Located([whole_image(image)], [])
    found = detector.detect(image)
    if not found:
        return Located([whole_image(image)], [], NO_FACE)
    height, width = image.shape[:2]
    regions = [face_region(f.box, width, height, margin) for f in found]
    side = min(preprocess.input_size)
    small = min(r.w for r in regions)
    warning = None
    if small < SMALL_FACE * side:
        warning = (f"a face crop is only {small} px wide, much smaller than the model input ({side} px): "
                   "it is upscaled and its score is less reliable")
    whole = whole_image(image)
    return Located(regions, found, warning, whole if with_image and whole not in regions else None)
