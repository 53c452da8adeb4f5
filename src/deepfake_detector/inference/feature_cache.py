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
from deepfake_detector.inference.predictor import Predictor
from deepfake_detector.models.base import BackboneAndHead
from deepfake_detector.models.feature_store import FeatureStore
from deepfake_detector.models.weights.fetch import cache_dir

# DEEPFAKE_DETECTOR_FEATURE_CACHE=off: always run the encoder (e.g. to time it, or to rule the cache out).
SWITCH = "DEEPFAKE_DETECTOR_FEATURE_CACHE"


class CachedFeatures:
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


def cached_features_runner(model: torch.nn.Module) -> CachedFeatures | None:
    """The cache runner for a model whose frozen encoder names what it computes; None otherwise, or when the
    cache is switched off."""
    key = model.feature_key() if isinstance(model, BackboneAndHead) else None
    if not key or os.environ.get(SWITCH, "on") == "off":
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
