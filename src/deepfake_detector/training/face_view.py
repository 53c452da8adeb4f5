"""A training view framed as ``predict`` frames a photo: each training image cut to its face's square crop
with predict's margin (``faces/crop.py``), both classes alike.

Training otherwise sees whole images, while ``predict`` (faces auto, the default) scores face crops; for
sources whose faces do not fill the frame (SDXL figure tiles, SD 2.1 portraits) the two framings differ, and a
head that never saw the crop misses fakes it catches whole. An image without a face is kept whole.
"""

from __future__ import annotations

import numpy as np
import torch

from deepfake_detector.faces.crop import FACE_MARGIN, face_region
from deepfake_detector.faces.detect import FaceDetector

VIEW_NAME = f"faces-margin{FACE_MARGIN:g}"  # the cached features' view: another margin is another view


class FaceCropView:
    """``perturb(image, index)``: the image cut to its largest detected face's predict crop."""

    def __init__(self) -> None:
        self._detector: FaceDetector | None = None

    def __getstate__(self) -> dict:  # loader workers make their own face detector
        return self.__dict__ | {"_detector": None}

    def __call__(self, image: torch.Tensor, index: int = 0) -> torch.Tensor:
        if self._detector is None:
            self._detector = FaceDetector()
        faces = self._detector.detect(np.ascontiguousarray(image.permute(1, 2, 0).numpy()))
        if not faces:
            return image
        largest = max(faces, key=lambda f: f.box[2] * f.box[3])
        r = face_region(largest.box, int(image.shape[-1]), int(image.shape[-2]), FACE_MARGIN)
        return image[:, r.y:r.y + r.h, r.x:r.x + r.w].contiguous()
