"""What every predictor shares: threshold, temperature, preprocessing, faces and the one scoring pipeline.

Two predictors implement :meth:`Predictor.logits` (uint8 crops at the model's input size -> logits): the
:class:`~deepfake_detector.inference.detector.Detector` (PyTorch, or ONNX Runtime as its runner) and the
torch-free :class:`~deepfake_detector.inference.onnx_predict.OnnxPredictor`. Everything else (decode, faces,
crops, batching, aggregation, labels) is :mod:`deepfake_detector.inference.analyze`, the same for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.errors import ModelLoadError
from deepfake_detector.faces.locate import check_mode
from deepfake_detector.inference.verdict import Band, VerdictRule
from deepfake_detector.models.bundled import WEIGHTS_FILE
from deepfake_detector.models.meta import ModelMeta
from deepfake_detector.utils.hashing import file_sha256

if TYPE_CHECKING:
    from deepfake_detector.faces.detect import FaceDetector
    from deepfake_detector.inference.analyze import Alter
    from deepfake_detector.inference.prediction import Prediction
    from deepfake_detector.inference.video import VideoOptions

# What predict() takes: files, in-memory images (PIL, HxWx3 uint8 arrays, 3xHxW uint8 tensors).
ImageInput = Any


def sigmoid_scores(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """P(fake) = sigmoid(logit / temperature) in float32: the one formula every path uses, so a photo gets
    the same score through the API, the CLI, the server and evaluation."""
    z = np.clip(np.asarray(logits, dtype=np.float32) / np.float32(temperature), -80, 80)  # no exp overflow
    return (1 / (1 + np.exp(-z))).astype(np.float32)


class Predictor:
    """A trained real-vs-fake classifier with its preprocessing, decision threshold and optional uncertain band
    (``model.json``)."""

    # Why this engine scores (the CPU flags that chose it) or why the one planned gave way (its self-test).
    engine_note: str | None = None

    def __init__(self, meta: ModelMeta | Mapping[str, Any]) -> None:
        self.meta = ModelMeta.parse(meta)
        self.threshold = self.meta.threshold
        # Temperature scaling fitted on validation (model.json "temperature"); 1.0 leaves scores as trained.
        self.temperature = self.meta.temperature or 1.0
        self.verdict  # noqa: B018 - a malformed uncertain band fails here, at load, naming the file

    @cached_property
    def preprocess(self) -> Preprocess:
        if self.meta.preprocess is None:
            raise ModelLoadError(f"{self.meta_file}: no 'preprocess' entry")
        return self.meta.preprocess

    @property
    def meta_file(self) -> str:
        """Where this model's model.json is (for messages)."""
        return str(Path(self.meta.path) / "model.json") if self.meta.path else "model.json"

    @property
    def engine(self) -> str:
        """The runtime and precision that score: ``torch-cpu-fp32``, ``onnxruntime-fp32``, ``openvino-bf16``..."""
        raise NotImplementedError

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Logits ``(N,)`` for uint8 RGB crops ``(N, H, W, 3)`` already at the model's input size."""
        raise NotImplementedError

    def p_fake(self, crops: np.ndarray) -> np.ndarray:
        """P(fake) = sigmoid(logit / temperature) for uint8 crops ``(N, H, W, 3)`` at the input size."""
        return sigmoid_scores(self.logits(crops), self.temperature)

    @property
    def verdict(self) -> VerdictRule:
        """The photo verdict rule: ``threshold`` and model.json's ``uncertain`` band (read each time, so a
        threshold or band set after loading is the one used)."""
        band = self.meta.uncertain
        return VerdictRule.checked(self.threshold, band and (band.low, band.high), self.meta_file)

    @property
    def uncertain_band(self) -> Band | None:
        """The P(fake) range ``[low, high)`` answered "uncertain"; None for a model without one."""
        return self.verdict.band

    def label_for(self, p_fake: float) -> str:
        """"real", "fake" or "uncertain" (:mod:`deepfake_detector.inference.verdict`)."""
        return self.verdict.label(p_fake)

    @cached_property
    def face_detector(self) -> FaceDetector:
        """MTCNN, created on first use."""
        from deepfake_detector.faces.detect import FaceDetector

        return FaceDetector()

    @property
    def model_id(self) -> str:
        """``<folder name>@<first 12 hex of the weights' SHA-256>``: names exactly which weights answer."""
        folder = Path(self.meta.path or ".")
        digest = self.meta.weights_sha256
        if digest is None and (folder / WEIGHTS_FILE).is_file():
            digest = file_sha256(folder / WEIGHTS_FILE)
        return f"{folder.name or self.meta.name}@{(digest or 'unsaved')[:12]}"

    def predict(self, inputs: ImageInput | list[ImageInput], batch_size: int = 32, progress: bool = False,
                faces: str = "auto", video: VideoOptions | None = None, provenance: bool = True) -> list[Prediction]:
        """Predict for image and video files and/or in-memory images (PIL, HxWx3 uint8 arrays, 3xHxW uint8
        tensors), one Prediction per input, in order.

        ``faces="auto"`` scores every detected face (square crop with margin, cut at full resolution; image
        score = max over faces; no face: the whole image, said in ``warning``); ``"off"`` the whole image.
        Videos (recognised by content) are sampled and summed up as ``video`` says (``inference/video.py``).
        A file that cannot be read gets a Prediction with ``error`` set; the others are unaffected.
        ``provenance`` reads what each file says about its origin (C2PA, generator metadata) and applies the
        rule of ``provenance/combine.py``: a declaration of AI generation makes the label "fake" with
        ``reason="provenance"``; otherwise the model decides (``reason="detector"``).
        """
        from deepfake_detector.data.video import is_video
        from deepfake_detector.inference.analyze import with_provenance
        from deepfake_detector.inference.video import predict_video
        from deepfake_detector.provenance.read import read_provenance

        check_mode(faces)
        items = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
        videos = {i for i, item in enumerate(items) if isinstance(item, str | Path) and is_video(item)}
        photos = [i for i in range(len(items)) if i not in videos]
        results: list[Prediction | None] = [None] * len(items)
        for i, prediction in zip(photos, self.predict_images([items[i] for i in photos], batch_size,
                                                             progress and len(photos) > 1, faces), strict=True):
            results[i] = prediction
        for i in tqdm(sorted(videos), desc="Videos", unit="video", disable=not progress or len(videos) < 2,
                      leave=False):
            results[i] = predict_video(self, items[i], faces, video, batch_size)
        scored: list[Prediction] = results  # type: ignore[assignment] - every slot is filled above
        return [with_provenance(p, read_provenance(item) if provenance and p.label and isinstance(item, str | Path)
                                else None) for p, item in zip(scored, items, strict=True)]

    def predict_images(self, items: list[ImageInput], batch_size: int = 32, progress: bool = False,
                       faces: str = "auto", alter: Alter | None = None) -> list[Prediction]:
        """Photos only (files or in-memory): the pipeline of :mod:`deepfake_detector.inference.analyze`
        (``alter``: a change to each decoded image, e.g. evaluation's processing histories)."""
        from deepfake_detector.inference.analyze import predict_with_faces

        return predict_with_faces(self, items, faces, progress, batch_size, alter)
