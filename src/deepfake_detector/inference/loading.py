"""Choose and load the predictor for a model: the torch-free one (ONNX Runtime or OpenVINO) when it can answer,
else a Detector."""

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


def load_predictor(model: str | Path | None = None, backend: str = "auto", needs_torch: bool = False,
                   threads: int | None = None) -> Detector | OnnxPredictor:
    """A predictor for ``model`` (folder or bundled name; None: the default model).

    Both kinds run the same pipeline and offer ``predict(items, batch_size=, progress=, faces=)``,
    ``threshold``, ``model_id``, ``engine`` and ``meta``. Without a GPU, ``backend="onnx"``, ``"openvino..."``
    or ``"auto"`` take the torch-free :class:`OnnxPredictor` once the model's ONNX export is cached (the first
    torch-path load creates it); ``needs_torch`` (Grad-CAM) forces the :class:`Detector`. ``threads``: the
    torch-free engine's threads (None: the runtime's default; torch's are set by the caller). The engine that
    scores is printed when OpenVINO was planned (it may have given way, the line says why).
    """
    from deepfake_detector.inference.cpu_features import cpu_flags
    from deepfake_detector.inference.engine_choice import DEFAULT, plan_engine

    plan = plan_engine(backend, cpu_flags(), gpu=gpu_present())
    predictor: Detector | OnnxPredictor | None = None
    if not needs_torch and plan.backend != "torch" and (plan.backend != DEFAULT or not gpu_present()):
        from deepfake_detector.inference.onnx_predict import OnnxPredictor

        predictor = OnnxPredictor.open(model, plan, threads)  # None until the export is cached
    predictor = predictor or _load_detector(model, backend)
    if plan.backend == "openvino":
        print(f"engine: {predictor.engine} ({predictor.engine_note})", file=sys.stderr)
    return predictor


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
