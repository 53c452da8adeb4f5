"""Choose and load the predictor for a model: the torch-free ONNX Runtime one when it can answer, else a Detector."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deepfake_detector.inference.detector import Detector
    from deepfake_detector.inference.onnx_predict import OnnxPredictor


def gpu_present() -> bool:
    """An NVIDIA GPU is visible (checked without importing torch: its driver lists the GPUs in /proc)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def load_predictor(model: str | Path | None = None, backend: str = "auto",
                   needs_torch: bool = False) -> Detector | OnnxPredictor:
    """A predictor for ``model`` (folder or bundled name; None: the default model).

    Both kinds run the same pipeline and offer ``predict(items, batch_size=, progress=, faces=)``,
    ``threshold``, ``model_id`` and ``meta``. ``backend="onnx"``, or ``"auto"`` on a machine without a GPU,
    takes the torch-free :class:`OnnxPredictor` once the model's ONNX export is cached (the first torch-path
    load with ONNX creates it); ``needs_torch`` (Grad-CAM) forces the :class:`Detector`.
    """
    if not needs_torch and (backend == "onnx" or (backend == "auto" and not gpu_present())):
        from deepfake_detector.inference.onnx_predict import OnnxPredictor

        light = OnnxPredictor.open(model)  # None until the export is cached
        if light is not None:
            return light
    return _load_detector(model, backend)


def _load_detector(model: str | Path | None, backend: str) -> Detector:
    """The Detector (torch), printing the default model's offline fallback as one warning line."""
    from deepfake_detector.inference.detector import Detector, FallbackWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FallbackWarning)
        detector = Detector.load(model, backend=backend)  # None: the bundled default model
    for w in caught:
        if issubclass(w.category, FallbackWarning):
            print(f"warning: {w.message}", file=sys.stderr)
    return detector
