"""ONNX Runtime backend: one logit per image for a normalised float batch, as the torch model gives them.

``Detector`` uses it in place of the PyTorch model (``Detector.load(folder, backend="onnx")``); the
preprocessing, temperature and threshold stay the Detector's, so both backends score identically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepfake_detector.inference.engine import Engine
from deepfake_detector.models.bundled import WEIGHTS_FILE
from deepfake_detector.models.weights.fetch import cache_dir
from deepfake_detector.utils.hashing import file_sha256

META_KEY = "deepfake_detector"  # ONNX metadata_props key holding model.json (see onnx_export.py)


class OnnxBackend(Engine):
    """An ONNX Runtime session over an exported detector (input ``image`` (N, 3, H, W) -> ``logit`` (N,))."""

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self.input_name = self.session.get_inputs()[0].name
        cuda = self.session.get_providers()[0] == "CUDAExecutionProvider"
        self.name = "onnxruntime-cuda-fp32" if cuda else "onnxruntime-fp32"

    @property
    def metadata(self) -> dict[str, str]:
        """The exported model's custom metadata (``model.json`` under :data:`META_KEY`, weights digest)."""
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Logits (N,) for a normalised float32 batch (N, 3, H, W) as a NumPy array (no torch needed)."""
        (logits,) = self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})
        return logits.reshape(len(batch))


def weights_digest(folder: str | Path) -> str | None:
    """SHA-256 of a model folder's weights file (None if the folder has none)."""
    path = Path(folder) / WEIGHTS_FILE
    return file_sha256(path) if path.is_file() else None


def cached_onnx_path(folder: str | Path) -> Path:
    """Where a model folder's ONNX export is cached: keyed by the weights' SHA-256, so never stale."""
    return cache_dir() / "onnx" / f"{weights_digest(folder)}.onnx"
