"""What every non-torch inference engine offers: logits for a normalised batch, and the name it answers to.

The name (``onnxruntime-fp32``, ``openvino-bf16``, ...) says which runtime and which precision really ran; it is
printed once at load and written into every output beside the model id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


class Engine:
    """Logits (N,) for a normalised float32 batch (N, 3, H, W); subclasses implement :meth:`run`."""

    name: str

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Logits (N,) for a normalised float32 batch as a NumPy array (no torch needed)."""
        raise NotImplementedError

    def exact(self) -> Engine:
        """The engine whose logits are fp32's: this one, unless it computes in reduced precision."""
        return self

    def near_boundary(self, logits: np.ndarray) -> np.ndarray:
        """Which ``logits`` lie so near a verdict boundary that :meth:`exact` must score them again: none, unless
        this engine computes in reduced precision (inference/recheck.py)."""
        return np.zeros(len(logits), dtype=bool)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits (N,) for a normalised float batch (N, 3, H, W), as the Detector's runner."""
        import torch

        return torch.from_numpy(self.run(batch.detach().cpu().float().numpy()))


def engine_input(crops: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """uint8 RGB crops (N, H, W, 3) -> the normalised float32 batch (N, 3, H, W) an engine takes."""
    scale = np.array(std, dtype=np.float32) * 255.0
    batch = (crops.astype(np.float32) - np.array(mean, dtype=np.float32) * 255.0) / scale
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
