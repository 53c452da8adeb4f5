"""Regions to score: square face crops with a margin, or the whole image; cut at full resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepfake_detector.data.arrays import resize_rgb
from deepfake_detector.data.preprocess import Preprocess


@dataclass(frozen=True)
class Region:
    """A rectangle ``(x, y, w, h)`` of the full image that is scored on its own."""

    x: int
    y: int
    w: int
    h: int

    @property
    def box(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


def whole_image(image: np.ndarray) -> Region:
    """The whole of an RGB image ``(H, W, 3)``."""
    return Region(0, 0, int(image.shape[1]), int(image.shape[0]))


# The training faces (FFHQ-aligned, 140k) fill ~74% of their frame: MTCNN's box side is 190 px (median;
# 5-95%: 168-207) on the 256 px test images. A 0.4 margin frames crops about the same way, so faces cut
# from larger photos look like the training images, and most aligned face photos are scored whole.
FACE_MARGIN = 0.4


def face_region(box: tuple[int, int, int, int], width: int, height: int, margin: float = FACE_MARGIN) -> Region:
    """A square around a face box, ``margin`` of the box's longer side added, kept inside the image.

    When the square would be larger than the image it is clipped to the image's shorter side (an
    already-aligned face photo is then scored almost whole).
    """
    x, y, w, h = box
    side = min(round(max(w, h) * (1 + margin)), width, height)
    cx, cy = x + w / 2, y + h / 2
    x0 = int(min(max(round(cx - side / 2), 0), width - side))
    y0 = int(min(max(round(cy - side / 2), 0), height - side))
    return Region(x0, y0, side, side)


def crop_regions(image: np.ndarray, regions: list[Region], preprocess: Preprocess) -> np.ndarray:
    """uint8 crops ``(N, H, W, 3)`` of an RGB image ``(H, W, 3)`` (full resolution), each resized to the
    model input."""
    size = tuple(preprocess.input_size)
    return np.stack([resize_rgb(np.ascontiguousarray(image[r.y:r.y + r.h, r.x:r.x + r.w]), size,
                                preprocess.interpolation) for r in regions])
