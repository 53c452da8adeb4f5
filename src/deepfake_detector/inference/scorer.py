"""A scorer: a loaded model with its preprocessing, temperature, threshold and uncertain band.

It turns uint8 crops at the model's input size into P(fake) and labels; this is all the scoring pipeline
(:mod:`deepfake_detector.inference.analyze`, :mod:`deepfake_detector.inference.video`) needs of a model. The
entry points that run that pipeline are :class:`~deepfake_detector.inference.predictor.Predictor`'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.errors import ModelLoadError
from deepfake_detector.inference.recheck import boundary_logits
from deepfake_detector.inference.verdict import Band, VerdictRule
from deepfake_detector.models.bundled import WEIGHTS_FILE
from deepfake_detector.models.meta import ModelMeta
from deepfake_detector.utils.hashing import file_sha256

if TYPE_CHECKING:
    from deepfake_detector.faces.detect import FaceDetector
    from deepfake_detector.inference.engine import Engine

# What predict() takes: files, in-memory images (PIL, HxWx3 uint8 arrays, 3xHxW uint8 tensors).
ImageInput = Any


def sigmoid_scores(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """P(fake) = sigmoid(logit / temperature) in float32: the one formula every path uses, so a photo gets
    the same score through the API, the CLI, the server and evaluation."""
    z = np.clip(np.asarray(logits, dtype=np.float32) / np.float32(temperature), -80, 80)  # no exp overflow
    return (1 / (1 + np.exp(-z))).astype(np.float32)


class Scorer:
    """A trained real-vs-fake classifier with its preprocessing, decision threshold and optional uncertain band
    (``model.json``). Subclasses implement :meth:`logits` and :attr:`engine`."""

    # Why this engine scores (the CPU flags that chose it) or why the one planned gave way (its self-test).
    engine_note: str | None = None
    _everywhere = False  # looking_twice_everywhere() is on

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

    def logits(self, crops: np.ndarray, exact: bool = False) -> np.ndarray:
        """Logits ``(N,)`` for uint8 RGB crops ``(N, H, W, 3)`` already at the model's input size; ``exact``: as
        fp32 computes them (the fp32 reference of an engine that computes in reduced precision)."""
        raise NotImplementedError

    def p_fake(self, crops: np.ndarray) -> np.ndarray:
        """P(fake) = sigmoid(logit / temperature) for uint8 crops ``(N, H, W, 3)`` at the input size."""
        return sigmoid_scores(self.logits(crops), self.temperature)

    @property
    def runtime(self) -> Engine | None:
        """The inference engine that computes the logits; None: the PyTorch model itself (fp32)."""
        return None

    def exact_p_fake(self, crops: np.ndarray) -> np.ndarray:
        """P(fake) as fp32 computes it: :meth:`p_fake`, unless the engine computes in reduced precision."""
        return sigmoid_scores(self.logits(crops, exact=True), self.temperature)

    def _logit(self, p_fake: float) -> float:
        """The model's logit (before the temperature) behind a P(fake) it gave."""
        p = min(max(p_fake, 1e-7), 1 - 1e-7)  # P(fake) 0 or 1 in float32 is far from every boundary, not infinite
        return self.temperature * math.log(p / (1 - p))

    def near_boundary(self, p_fake: float) -> bool:
        """Whether a score this engine gave lies so near a verdict boundary that fp32 must decide it
        (:mod:`deepfake_detector.inference.recheck`); False for an fp32 engine."""
        if self.runtime is None:
            return False
        return bool(self.runtime.near_boundary(np.array([self._logit(p_fake)], dtype=np.float32))[0])

    def looks_twice(self, p_fake: float) -> bool:
        """Whether a photo scored ``p_fake`` at first look is looked at again, mirrored: model.json's
        ``second_look``, for photos within its reach of a verdict boundary (every photo while
        :meth:`looking_twice_everywhere`)."""
        look = self.meta.second_look
        if look is None:
            return False
        if look.within is None or self._everywhere:
            return True
        logit = self._logit(p_fake)
        return any(abs(logit - b) < look.within for b in boundary_logits(self.verdict, self.temperature))

    @contextmanager
    def looking_twice_everywhere(self) -> Iterator[None]:
        """Every photo gets the model's second look meanwhile (calibration: the boundaries that decide who gets
        one are what it chooses)."""
        self._everywhere = True
        try:
            yield
        finally:
            self._everywhere = False

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
