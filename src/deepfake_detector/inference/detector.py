"""The Python API: ``Detector.load(model_dir).predict(paths_or_images)``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.data.transforms import build_transform
from deepfake_detector.errors import EncoderUnavailableError, ExportError, first_line
from deepfake_detector.inference.cpu_features import cpu_flags
from deepfake_detector.inference.engine import Engine
from deepfake_detector.inference.engine_choice import BACKENDS, DEFAULT, plan_engine
from deepfake_detector.inference.prediction import Prediction
from deepfake_detector.inference.predictor import Predictor
from deepfake_detector.inference.scorer import ImageInput, sigmoid_scores
from deepfake_detector.models.artifacts import load_model, save_model, write_meta
from deepfake_detector.models.bundled import BUNDLED, bundled_model_dir
from deepfake_detector.models.meta import ModelMeta

__all__ = ["BACKENDS", "Detector", "FallbackWarning", "ImageInput", "Prediction"]


class FallbackWarning(UserWarning):
    """The default model could not be used (no CLIP encoder offline); the fast model answers instead."""


def _load_folder(folder: str | Path | None) -> tuple[Path, torch.nn.Module, ModelMeta]:
    """Resolve bundled names and load; the default model falls back to the fast one without its encoder."""
    name = "default" if folder is None else str(folder)
    if name not in BUNDLED:
        model, meta = load_model(folder)
        return Path(folder), model, meta
    path = bundled_model_dir(name)
    try:
        model, meta = load_model(path)
    except EncoderUnavailableError as exc:
        if name != "default":
            raise
        warnings.warn(f"{exc}; using the fast model instead (weaker on unseen generators, see its MODEL_CARD.md)",
                      FallbackWarning, stacklevel=3)
        path = bundled_model_dir("fast")
        model, meta = load_model(path)
    return path, model, meta


class Detector(Predictor):
    """A trained real-vs-fake classifier in PyTorch (or ONNX Runtime as its runner), with its preprocessing
    and decision threshold; the pipeline it shares with the torch-free predictor is :class:`Predictor`'s."""

    def __init__(self, model: torch.nn.Module, meta: ModelMeta | Mapping[str, Any], device: str | torch.device = "cpu",
                 runner: Engine | None = None) -> None:
        super().__init__(meta)
        self.device = torch.device(device)
        # Another inference engine (ONNX Runtime, OpenVINO): logits for a normalised float batch. None = ``model``.
        self.runner = runner
        # Channels-last: oneDNN's fast convolution path (seed CNN inference ~1.9x on CPU; docs/benchmarks.md).
        self.model = model.eval().to(self.device, memory_format=torch.channels_last)
        self.transform = build_transform(self.preprocess)

    @property
    def preprocess(self) -> Preprocess:
        return self.model.preprocess  # model.json's, if it was saved with one (artifacts.load_model)

    @property
    def engine(self) -> str:
        return self.runner.name if self.runner is not None else f"torch-{self.device.type}-fp32"

    @classmethod
    def load(cls, folder: str | Path | None = None, device: str | None = None, backend: str = "torch") -> Detector:
        """Load a model folder (None or "default": the bundled default model, "fast": the bundled MobileNetV2).

        ``backend`` (:data:`BACKENDS`): "torch"; "onnx" scores with ONNX Runtime (its export cached in the user
        cache); "openvino[-precision]" with OpenVINO on the same export, self-tested against fp32
        (``inference/engine_choice.py``); "auto" with OpenVINO bf16/int8 on a CPU that computes them in hardware,
        else as before: ONNX Runtime on a CPU if the model exports and it speeds it up, PyTorch on a GPU."""
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        plan = plan_engine(backend, cpu_flags(), gpu=torch.device(device).type != "cpu")
        folder, model, meta = _load_folder(folder)
        # auto: ONNX Runtime on a CPU, except for models it does not speed up (model.json "onnx_auto": false).
        prefer_torch = plan.backend == DEFAULT and not model.onnx_auto
        if plan.backend == "torch" or prefer_torch or (plan.backend == DEFAULT and torch.device(device).type != "cpu"):
            return cls(model, meta, device)
        from deepfake_detector.inference.onnx_export import load_onnx_backend

        detector = cls(model, meta, "cpu")
        try:
            detector.runner = onnx = load_onnx_backend(detector.model, detector.meta, folder, device)
        except Exception as exc:  # the exporter and ONNX Runtime raise many types
            if backend != "auto":  # asked for by name: say why it cannot be had
                if isinstance(exc, ExportError | OSError):
                    raise
                raise ExportError(f"{folder}: ONNX export failed ({first_line(exc)})") from None
            return detector  # auto: a model ONNX cannot reproduce (or an unwritable cache) falls back to PyTorch
        if plan.backend == "openvino":
            from deepfake_detector.inference.engine_choice import open_engine

            loaded = open_engine(onnx.path, meta, plan)
            detector.runner, detector.engine_note = loaded.engine, loaded.note or plan.reason
        return detector

    @classmethod
    def default(cls, device: str | None = None) -> Detector:
        """The bundled default model (``assets/default-model``, see its MODEL_CARD.md)."""
        return cls.load(None, device)

    def save_meta(self) -> None:
        """Store a changed threshold/temperature in the model's own ``model.json``; weights stay untouched
        (an fp16 model stays fp16)."""
        self.meta = self.meta.updated({"threshold": self.threshold})
        write_meta(self.meta.path, self.meta)

    def save(self, folder: str | Path) -> Path:
        extra = self.meta.stored()
        for key in ("model", "preprocess", "threshold", "weights_sha256"):
            extra.pop(key, None)
        spec = self.meta.model
        return save_model(self.model, folder, name=spec.name, args=spec.args, threshold=self.threshold, info=extra)

    @torch.inference_mode()
    def scores(self, batch: torch.Tensor) -> torch.Tensor:
        """P(fake) = sigmoid(logit / temperature) for a normalised float batch (N, 3, H, W)."""
        if self.runner is not None:
            logits = self.runner(batch)
        else:
            logits = self.model(batch.to(self.device, memory_format=torch.channels_last))
        return torch.from_numpy(sigmoid_scores(logits.float().cpu().numpy(), self.temperature))

    @property
    def runtime(self) -> Engine | None:
        return self.runner

    @torch.inference_mode()
    def logits(self, crops: np.ndarray, exact: bool = False) -> np.ndarray:
        batch = self.transform(torch.from_numpy(crops).permute(0, 3, 1, 2))
        if self.runner is not None:
            return (self.runner.exact() if exact else self.runner)(batch).float().numpy()
        return self.model(batch.to(self.device, memory_format=torch.channels_last)).float().cpu().numpy()

