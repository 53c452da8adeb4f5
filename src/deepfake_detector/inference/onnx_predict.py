"""`predict --backend onnx --faces off` without torch: ONNX Runtime, Pillow and NumPy only.

A one-photo check should answer in about a second from a process that never imports torch, torchvision
or Lightning (importing them alone takes seconds and ~1 GB). This path scores whole images with the
model's cached ONNX export (made, parity-checked, by the torch path on first use: ``Detector.load(...,
backend="onnx")``), preprocessing read from ``model.json``. When there is no cached export yet it returns
None and the caller takes the torch path, which creates it.

It is the same pipeline as :class:`Detector.predict` with ``faces="off"``: decode (header pixel cap,
first frame, 16-bit, EXIF orientation) -> antialiased resize to the model input -> normalise -> batched
logits -> sigmoid(logit / temperature) -> label at the stored threshold. Only the resize is Pillow's
instead of torchvision's (both antialiased); scores agree to ~1e-3 (tested).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from deepfake_detector.data.pillow_decode import decode_rgb_array, read_bytes
from deepfake_detector.data.preprocess import size_warning
from deepfake_detector.data.samples import FAKE, LABEL_NAMES, REAL
from deepfake_detector.errors import ImageDecodeError
from deepfake_detector.inference.onnx_backend import OnnxBackend, cached_onnx_path
from deepfake_detector.inference.prediction import Prediction
from deepfake_detector.models.bundled import BUNDLED, bundled_model_dir, read_meta

_RESAMPLE = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
             "nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS}


class OnnxPredictor:
    """A saved model scored by ONNX Runtime on whole images; the light twin of ``Detector`` for ``faces="off"``."""

    def __init__(self, folder: Path, meta: dict, backend: OnnxBackend) -> None:
        self.folder, self.meta, self.backend = folder, meta, backend
        self.meta["path"] = str(folder)
        pre = meta["preprocess"]
        self.size = tuple(pre["input_size"])  # (height, width)
        self.mean = np.array(pre["mean"], dtype=np.float32).reshape(3, 1, 1)
        self.std = np.array(pre["std"], dtype=np.float32).reshape(3, 1, 1)
        self.resample = _RESAMPLE.get(pre.get("interpolation", "bilinear"), Image.Resampling.BILINEAR)
        self.threshold = float(meta.get("threshold", 0.5))
        self.temperature = float(meta.get("temperature") or 1.0)

    @classmethod
    def open(cls, model: str | Path | None) -> OnnxPredictor | None:
        """The predictor for a model folder or bundled name, or None if its ONNX export is not cached yet."""
        name = "default" if model is None else str(model)
        folder = bundled_model_dir(name) if name in BUNDLED else Path(model)
        meta = read_meta(folder)
        path = cached_onnx_path(folder)
        if not path.is_file():
            return None
        return cls(folder, meta, OnnxBackend(path))

    def label_for(self, p_fake: float) -> str:
        return LABEL_NAMES[FAKE if p_fake >= self.threshold else REAL]

    def _input(self, path: Path) -> tuple[np.ndarray, tuple[int, int]]:
        rgb = decode_rgb_array(read_bytes(path), str(path))
        height, width = rgb.shape[:2]
        if (height, width) != self.size:
            rgb = np.asarray(Image.fromarray(rgb).resize((self.size[1], self.size[0]), self.resample))
        x = (rgb.transpose(2, 0, 1).astype(np.float32) / 255.0 - self.mean) / self.std
        return x, (height, width)

    def predict(self, files: list[Path], batch_size: int = 32) -> list[Prediction]:
        results: list[Prediction] = []
        for start in range(0, len(files), batch_size):
            chunk, batch, sizes, rows = files[start:start + batch_size], [], [], []
            for path in chunk:
                try:
                    x, size = self._input(path)
                except ImageDecodeError as exc:
                    rows.append(Prediction(str(path), None, None, str(exc)))
                    continue
                batch.append(x)
                sizes.append(size)
                rows.append(None)
            logits = self.backend.run(np.stack(batch)) if batch else np.zeros(0, np.float32)
            scores = iter(1.0 / (1.0 + np.exp(-logits / self.temperature)))
            sizes_iter = iter(sizes)
            for path, row in zip(chunk, rows, strict=True):
                if row is None:
                    p = float(next(scores))
                    warning = size_warning(*next(sizes_iter), self.size)
                    row = Prediction(str(path), p, self.label_for(p), warning=warning)
                results.append(row)
        return results
