"""A runner that reads a frozen encoder's features from the on-disk cache (``models/feature_store.py``), so a
model evaluated again, or a second head on the same encoder, runs only its head.

It is an engine like the others (``Detector.runner``): the pipeline, crops and scores are unchanged. Rows are
keyed by the SHA-256 of the exact normalised input batch row, so a cached feature is by construction the
feature of that input; they are stored in float32, so a cached score equals a computed one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from deepfake_detector.inference.detector import Detector
from deepfake_detector.inference.engine import Engine
from deepfake_detector.inference.predictor import Predictor
from deepfake_detector.models.base import BackboneAndHead
from deepfake_detector.models.ensemble import MaxOfModels
from deepfake_detector.models.feature_store import FeatureStore
from deepfake_detector.models.views import Runner
from deepfake_detector.models.weights.fetch import cache_dir

# DEEPFAKE_DETECTOR_FEATURE_CACHE=off: always run the encoder (e.g. to time it, or to rule the cache out).
SWITCH = "DEEPFAKE_DETECTOR_FEATURE_CACHE"


class _TorchEngine(Engine):
    """An engine that computes in PyTorch fp32 on torch batches (``__call__``); ``run`` is the NumPy face."""

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))).numpy()


class CachedFeatures(_TorchEngine):
    """Logits (N,) for a normalised float batch: encoder features from the cache where present, computed (and
    stored) where not, then the model's head."""

    def __init__(self, model: BackboneAndHead, store: FeatureStore) -> None:
        self.model = model
        self.store = store
        self.name = f"torch-{next(model.parameters()).device.type}-fp32+feature-cache"

    @staticmethod
    def input_key(row: torch.Tensor) -> str:
        return hashlib.sha256(np.ascontiguousarray(row.detach().cpu().float().numpy()).tobytes()).hexdigest()

    @torch.inference_mode()
    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        keys = [f"{self.input_key(row)}:input" for row in batch]
        rows = self.store.get(keys)
        missing = [i for i, key in enumerate(keys) if key not in rows]
        device = next(self.model.parameters()).device
        if missing:
            computed = self.model.backbone(batch[missing].to(device)).float().cpu()
            self.store.put([keys[i] for i in missing], computed, dtype=torch.float32)
            rows.update(zip((keys[i] for i in missing), computed, strict=True))
        features = torch.stack([rows[key] for key in keys]).to(device)
        return self.model.head(features).squeeze(1).float().cpu()


class CachedMembers(_TorchEngine):
    """Logits (N,) of a combined model (``models/ensemble.py``) whose members' encoders are read from the cache
    where they can be (the others run as they are)."""

    def __init__(self, model: MaxOfModels, runners: list[Runner]) -> None:
        self.model = model
        self.runners = runners
        self.name = f"torch-{next(model.parameters()).device.type}-fp32+feature-cache"

    @torch.inference_mode()
    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        device = next(self.model.parameters()).device
        raw = self.model.raw_logits(batch.to(device), [self._on(device, run) for run in self.runners])
        return self.model.on_common_scale(raw).amax(dim=1).float().cpu()

    @staticmethod
    def _on(device: torch.device, run: Runner) -> Runner:
        return lambda part: run(part).float().to(device)  # a cache runner answers on the CPU


def cached_features_runner(model: torch.nn.Module) -> CachedFeatures | CachedMembers | None:
    """The cache runner for a model whose frozen encoder names what it computes (or a combined model with such a
    member); None otherwise, or when the cache is switched off."""
    if os.environ.get(SWITCH, "on") == "off":
        return None
    if isinstance(model, MaxOfModels):
        cached = [cached_features_runner(member) for member in model.members]
        if not any(cached):
            return None
        return CachedMembers(model, [c or member for c, member in zip(cached, model.members, strict=True)])
    key = model.feature_key() if isinstance(model, BackboneAndHead) else None
    if not key:
        return None
    return CachedFeatures(model, FeatureStore(cache_dir() / "features", f"{key}-inputs"))


@contextmanager
def feature_cache(predictor: Predictor) -> Iterator[None]:
    """Within the block, a PyTorch :class:`Detector` of a cacheable model scores through the cache (evaluation
    scores the same images again and again); any other predictor, or one with another engine, is unchanged."""
    runner = cached_features_runner(predictor.model) if isinstance(predictor, Detector) and \
        predictor.runner is None else None
    if runner is None:
        yield
        return
    predictor.runner = runner
    try:
        yield
    finally:
        predictor.runner = None
