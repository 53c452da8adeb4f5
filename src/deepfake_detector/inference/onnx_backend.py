"""ONNX Runtime backend: one logit per image for a normalised float batch, as the torch model gives them.

``Detector`` uses it in place of the PyTorch model (``Detector.load(folder, backend="onnx")``); the
preprocessing, temperature and threshold stay the Detector's, so both backends score identically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

META_KEY = "deepfake_detector"  # ONNX metadata_props key holding model.json (see onnx_export.py)


class OnnxBackend:
    """An ONNX Runtime session over an exported detector (input ``image`` (N, 3, H, W) -> ``logit`` (N,))."""

    def __init__(self, path: str | Path, device: str | torch.device = "cpu", threads: int | None = None) -> None:
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

    @property
    def metadata(self) -> dict[str, str]:
        """The exported model's custom metadata (``model.json`` under :data:`META_KEY`, weights digest)."""
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits (N,) for a normalised float batch (N, 3, H, W)."""
        x = np.ascontiguousarray(batch.detach().cpu().float().numpy())
        (logits,) = self.session.run(None, {self.input_name: x})
        return torch.from_numpy(logits).reshape(len(batch))
