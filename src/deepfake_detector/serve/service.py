"""The model behind the API: loaded once, one inference at a time (a lock), answers as JSON dicts."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import numpy as np
import torch

from deepfake_detector.data.pillow_decode import IMAGE_EXTENSIONS, decode_rgb_array
from deepfake_detector.inference.analyze import analyze_image
from deepfake_detector.inference.detector import Detector

MAX_UPLOAD = 10 * 1024 * 1024  # bytes
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff"})


def accepted_type(content_type: str | None, filename: str | None) -> bool:
    """An image media type, or (for clients that send octet-stream) an image file extension."""
    if content_type in IMAGE_TYPES:
        return True
    generic = content_type in (None, "", "application/octet-stream")
    return generic and Path(filename or "").suffix.lower() in IMAGE_EXTENSIONS


MAX_CONCURRENT_DECODES = 2  # decoded images held at once (each up to the pixel cap): bounds memory
BUSY_TIMEOUT_S = 30.0


class ServiceBusy(Exception):
    """Every decode slot stayed taken for BUSY_TIMEOUT_S: the client should retry later (503)."""


class Service:
    """Wraps a Detector for concurrent requests: at most MAX_CONCURRENT_DECODES images are decoded at
    once, and inference is serialised by a lock."""

    def __init__(self, detector: Detector, threads: int | None = None,
                 max_decodes: int = MAX_CONCURRENT_DECODES) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.detector = detector
        self.model_id = detector.model_id
        self._lock = threading.Lock()
        self._decodes = threading.BoundedSemaphore(max_decodes)

    def info(self) -> dict:
        return {"status": "ok", "model": self.model_id, "threshold": self.detector.threshold,
                "input_size": list(self.detector.preprocess.input_size)}

    def predict(self, data: bytes, filename: str = "upload", faces: str = "auto", explain: bool = False) -> dict:
        """Decode (ImageDecodeError if unreadable), score and optionally explain one uploaded image."""
        if not self._decodes.acquire(timeout=BUSY_TIMEOUT_S):
            raise ServiceBusy("server busy: too many images being processed; retry shortly")
        try:
            image = decode_rgb_array(data, filename)
            with self._lock:
                prediction, where = analyze_image(self.detector, image, faces, filename)
                heatmap = self._heatmap(image, prediction) if explain else None
        finally:
            self._decodes.release()
        result = {"p_fake": prediction.p_fake, "label": prediction.label, "threshold": self.detector.threshold,
                  "faces": prediction.faces, "warning": prediction.warning, "model": self.model_id,
                  "width": int(image.shape[1]), "height": int(image.shape[0])}
        if heatmap is not None:
            result["heatmap_png"] = heatmap
        return result

    def _heatmap(self, image: np.ndarray, prediction) -> str:
        from deepfake_detector.explain.gradcam import explain_prediction, overlay_png

        return base64.b64encode(overlay_png(explain_prediction(self.detector, image, prediction))).decode()
