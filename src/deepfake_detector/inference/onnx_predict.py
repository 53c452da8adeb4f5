"""The torch-free predictor: ONNX Runtime (or OpenVINO), Pillow, NumPy and (for faces) OpenCV's MTCNN only.

A one-photo check should answer in about a second from a process that never imports torch, torchvision
or Lightning (importing them alone takes seconds and ~1 GB). This predictor scores with the model's cached
ONNX export (made, parity-checked, by the torch path on first use: ``Detector.load(..., backend="onnx")``
or ``"auto"``), preprocessing read from ``model.json``. When there is no cached export yet ``open`` returns
None and the caller takes the torch path, which creates it.

It runs the same pipeline as :class:`Detector` (:mod:`deepfake_detector.inference.analyze`); only the
normalisation of the crops is NumPy's here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepfake_detector.inference.engine import Engine
from deepfake_detector.inference.engine_choice import EnginePlan, open_engine
from deepfake_detector.inference.onnx_backend import OnnxBackend, cached_onnx_path
from deepfake_detector.inference.predictor import Predictor
from deepfake_detector.models.bundled import BUNDLED, bundled_model_dir, read_meta
from deepfake_detector.models.meta import ModelMeta


class OnnxPredictor(Predictor):
    """A saved model scored by ONNX Runtime; the light twin of ``Detector`` (same pipeline, same API)."""

    def __init__(self, folder: Path, meta: ModelMeta, backend: Engine) -> None:
        super().__init__(meta.at(str(folder)))
        self.folder, self.backend = folder, backend
        pre = self.preprocess
        self._mean = np.array(pre.mean, dtype=np.float32) * 255.0
        self._inv_std = 1.0 / (np.array(pre.std, dtype=np.float32) * 255.0)

    @property
    def engine(self) -> str:
        return self.backend.name

    @classmethod
    def open(cls, model: str | Path | None, plan: EnginePlan | None = None,
             threads: int | None = None) -> OnnxPredictor | None:
        """The predictor for a model folder or bundled name, or None if its ONNX export is not cached yet.

        ONNX Runtime scores, unless ``plan`` asks for OpenVINO (then the engine that passes the self-test)."""
        name = "default" if model is None else str(model)
        folder = bundled_model_dir(name) if name in BUNDLED else Path(model)
        meta = read_meta(folder)
        path = cached_onnx_path(folder)
        if not path.is_file():
            return None
        if plan is None or plan.backend != "openvino":
            return cls(folder, meta, OnnxBackend(path, threads=threads))
        loaded = open_engine(path, meta, plan, threads)
        predictor = cls(folder, meta, loaded.engine)
        predictor.engine_note = loaded.note or plan.reason
        return predictor

    @property
    def runtime(self) -> Engine:
        return self.backend

    def logits(self, crops: np.ndarray, exact: bool = False) -> np.ndarray:
        # (x / 255 - mean) / std, in one pass over the uint8 pixels
        batch = (crops.astype(np.float32) - self._mean) * self._inv_std
        return (self.backend.exact() if exact else self.backend).run(batch.transpose(0, 3, 1, 2))
