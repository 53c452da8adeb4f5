"""The model behind the API: loaded once, one inference at a time (a lock), answers as JSON dicts.

The service scores through any predictor of ``inference/loading.load_predictor``: on a CPU with the model's ONNX
export cached that is the torch-free ``OnnxPredictor``, so a server that is never asked for a heatmap never
imports torch. Grad-CAM needs the torch model: the first heatmap loads it (once, under the inference lock).
"""

from __future__ import annotations

import base64
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deepfake_detector.data.pillow_decode import IMAGE_EXTENSIONS, decode_rgb_array
from deepfake_detector.data.video import VIDEO_EXTENSIONS, looks_like_video, probe
from deepfake_detector.errors import ImageDecodeError, TooLargeError
from deepfake_detector.inference.analyze import analyze_image, with_provenance
from deepfake_detector.inference.loading import load_predictor
from deepfake_detector.inference.onnx_predict import OnnxPredictor
from deepfake_detector.inference.prediction import Prediction
from deepfake_detector.inference.timeline import timeline_png
from deepfake_detector.inference.video import VideoOptions, predict_video
from deepfake_detector.inference.writers import result_rows
from deepfake_detector.provenance.read import read_provenance

if TYPE_CHECKING:
    from deepfake_detector.inference.detector import Detector
    from deepfake_detector.inference.predictor import Predictor

MAX_UPLOAD = 10 * 1024 * 1024  # bytes, an image
MAX_VIDEO_UPLOAD = 100 * 1024 * 1024  # bytes, a video
MAX_VIDEO_SECONDS = 300.0  # longer videos are refused (422): scoring time grows with decoding
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/x-msvideo",
                         "video/avi", "video/x-m4v"})


def upload_kind(content_type: str | None, filename: str | None) -> str | None:
    """"image" or "video" from the media type, or (for clients that send octet-stream) from the file
    extension; None if neither is accepted."""
    if content_type in IMAGE_TYPES:
        return "image"
    if content_type in VIDEO_TYPES:
        return "video"
    if content_type not in (None, "", "application/octet-stream"):
        return None
    suffix = Path(filename or "").suffix.lower()
    return "image" if suffix in IMAGE_EXTENSIONS else "video" if suffix in VIDEO_EXTENSIONS else None


MAX_CONCURRENT_DECODES = 2  # decoded images held at once (each up to the pixel cap): bounds memory
BUSY_TIMEOUT_S = 30.0


class ServiceBusy(Exception):
    """Every decode slot stayed taken for BUSY_TIMEOUT_S: the client should retry later (503)."""


class Service:
    """Wraps a predictor for concurrent requests: at most MAX_CONCURRENT_DECODES images are decoded at
    once, and inference is serialised by a lock. ``threads``: torch's threads, whenever torch scores or explains
    (a torch-free engine gets them at load: ``load_predictor(..., threads=)``)."""

    def __init__(self, predictor: Predictor, threads: int | None = None,
                 max_decodes: int = MAX_CONCURRENT_DECODES, max_video_seconds: float = MAX_VIDEO_SECONDS,
                 video: VideoOptions | None = None, provenance: bool = True) -> None:
        self.predictor = predictor
        self.model_id = predictor.model_id
        self.threads = threads
        # The torch model Grad-CAM explains: the predictor itself unless it is the torch-free one.
        self._explainer: Detector | None = None
        if not isinstance(predictor, OnnxPredictor):
            self._explainer = self._with_threads(predictor)
        self._lock = threading.Lock()
        self._decodes = threading.BoundedSemaphore(max_decodes)
        self.max_video_seconds = max_video_seconds
        self.video = video or VideoOptions()
        self.provenance = provenance  # read each upload's provenance (provenance/combine.py decides with it)

    def info(self) -> dict:
        return {"status": "ok", "model": self.model_id, "inference_engine": self.predictor.engine,
                "engine_note": self.predictor.engine_note, **self.predictor.verdict.to_dict(),
                "input_size": list(self.predictor.preprocess.input_size)}

    def _slot(self) -> None:
        if not self._decodes.acquire(timeout=BUSY_TIMEOUT_S):
            raise ServiceBusy("server busy: too many images being processed; retry shortly")

    def _answer(self, prediction: Prediction, width: int, height: int, **extra: Any) -> dict:
        """The result row (``inference/prediction.py``) and what only the server adds; ``model`` is the
        ``model_id`` under the name this API has always answered with."""
        row = result_rows([prediction], self.predictor)[0]
        return row | {"model": row["model_id"], "width": width, "height": height} | {
            k: v for k, v in extra.items() if v is not None}

    def predict(self, data: bytes, filename: str = "upload", faces: str = "auto", explain: bool = False) -> dict:
        """Decode (ImageDecodeError if unreadable; TooLargeError over a limit), score and optionally explain
        one uploaded image or video (recognised by content)."""
        if looks_like_video(data[:12]) or Path(filename).suffix.lower() in VIDEO_EXTENSIONS:
            return self.predict_video(data, filename, faces, explain)
        self._slot()
        try:
            image = decode_rgb_array(data, filename)
            with self._lock:
                prediction, _ = analyze_image(self.predictor, image, faces, filename)
                heatmap = self._heatmap(image, prediction) if explain else None
        finally:
            self._decodes.release()
        prediction = with_provenance(prediction, read_provenance(data) if self.provenance else None)
        return self._answer(prediction, int(image.shape[1]), int(image.shape[0]), heatmap_png=heatmap)

    def predict_video(self, data: bytes, filename: str = "upload.mp4", faces: str = "auto",
                      explain: bool = False) -> dict:
        """Score one uploaded video: refused over the duration or pixel limits, else sampled and scored as
        ``predict`` does, with its timeline plot (PNG, base64) and per-frame details."""
        self._slot()
        try:
            with tempfile.TemporaryDirectory(prefix="deepfake-detector-upload-") as folder:
                path = Path(folder) / f"upload{Path(filename).suffix.lower() or '.mp4'}"
                path.write_bytes(data)
                try:
                    prediction, heatmap = self._score_video(path, faces, explain)
                except ImageDecodeError as exc:  # name the upload, not the temporary file
                    raise type(exc)(str(exc).replace(str(path), filename)) from None
                if prediction.error is None:
                    prediction = with_provenance(prediction, read_provenance(path) if self.provenance else None)
        finally:
            self._decodes.release()
        if prediction.error:
            raise ImageDecodeError(prediction.error.replace(str(path), filename))
        prediction = replace(prediction, path=filename,
                             warning=prediction.warning and prediction.warning.replace(str(path), filename))
        video = prediction.video
        return self._answer(prediction, video["width"], video["height"], heatmap_png=heatmap,
                            timeline_png=base64.b64encode(timeline_png(prediction)).decode())

    def _score_video(self, path: Path, faces: str, explain: bool) -> tuple[Prediction, str | None]:
        info = probe(path)
        if info.duration_s > self.max_video_seconds:
            raise TooLargeError(f"{path}: video is {info.duration_s:.0f} s long, over the "
                                f"{self.max_video_seconds:g} s limit")
        with self._lock:
            prediction = predict_video(self.predictor, path, faces, self.video)
            heatmap = None
            if explain and prediction.error is None:
                from deepfake_detector.explain.gradcam import most_suspicious_frame

                heatmap = self._heatmap(*most_suspicious_frame(prediction))
        return prediction, heatmap

    def _heatmap(self, image: np.ndarray, prediction: Prediction) -> str:
        """Grad-CAM of a scored image as a base64 PNG; called under the lock, so the torch model loads once."""
        from deepfake_detector.explain.gradcam import explain_prediction, overlay_png

        if self._explainer is None:  # the predictor is the torch-free OnnxPredictor: its folder has the weights
            self._explainer = self._with_threads(load_predictor(self.predictor.folder, "torch", needs_torch=True))
        return base64.b64encode(overlay_png(explain_prediction(self._explainer, image, prediction))).decode()

    def _with_threads(self, detector: Detector) -> Detector:
        """``detector``, with torch limited to ``threads`` (torch is loaded by then)."""
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        return detector
