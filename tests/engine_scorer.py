"""A scorer around a stand-in inference engine, for tests of the pipeline's engine-dependent steps (the fp32
recheck, the second look) on known logits."""

from __future__ import annotations

import numpy as np

from deepfake_detector.inference.engine import Engine
from deepfake_detector.inference.scorer import Scorer


class EngineScorer(Scorer):
    """The pipeline's view of a model: crops through ``runtime`` (or its fp32 reference, ``exact``)."""

    def __init__(self, meta: dict, runtime: Engine) -> None:
        super().__init__(meta)
        self._runtime = runtime

    @property
    def runtime(self) -> Engine:
        return self._runtime

    def logits(self, crops: np.ndarray, exact: bool = False) -> np.ndarray:
        batch = crops.astype(np.float32).transpose(0, 3, 1, 2) / 255
        return (self._runtime.exact() if exact else self._runtime).run(batch)
