"""Reduced-precision speed with fp32's verdicts: a crop scored near a verdict boundary is scored again in fp32.

bf16 and int8 move a logit a little (the default model in OpenVINO bf16 on an AVX-512 BF16 CPU: by about 0.1,
rarely by more than 0.5; docs/cpu-engines.md). A crop far from every boundary of the verdict rule keeps its label
whatever that error; one near a boundary can change it. So the fast engine scores everything, and the crops whose
logit lies within ``margin`` of a boundary are scored again by the fp32 reference (ONNX Runtime on the same export,
opened the first time it is needed). Every label then equals fp32's wherever the fast engine errs by less than the
margin, at the cost of re-scoring the few crops near a boundary. A photo's own score is made of its regions' (the
largest, or a face averaged with the photo: inference/regions.py), each within the engine's error of fp32, so it
is within that error too; the pipeline (``analyze.score_located``) scores a photo again in fp32 when its own score
lands within the margin (:meth:`RecheckedEngine.near_boundary`), and its verdict is fp32's as well.

The boundaries are those of the rule the model had when the engine was opened (model.json's threshold and band).
``DEEPFAKE_DETECTOR_RECHECK_MARGIN`` sets the margin (logit units); 0 turns the recheck off, for a scan that wants
the last ~30% of bf16's speed more than fp32's labels on photos near a boundary.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np

from deepfake_detector.errors import ConfigError
from deepfake_detector.inference.engine import Engine
from deepfake_detector.inference.verdict import VerdictRule

# The smallest margin (logit units): above bf16's 99th-percentile error on real photos (docs/cpu-engines.md).
MIN_MARGIN = 0.75
# The margin is also at least this many times the largest error the self-test saw on this machine.
SAFETY = 3.0
ENV = "DEEPFAKE_DETECTOR_RECHECK_MARGIN"


def boundary_logits(rule: VerdictRule, temperature: float) -> tuple[float, ...]:
    """The logits at which ``rule``'s label changes: P(fake) = sigmoid(logit / temperature) at each boundary
    (a boundary at P 0 or 1 can never be crossed and is left out)."""
    return tuple(temperature * math.log(p / (1 - p)) for p in rule.boundaries() if 0 < p < 1)


def recheck_margin(max_logit_error: float) -> float:
    """How close to a boundary a fast logit must be to be scored again, given the self-test's largest error
    (:data:`ENV` overrides it; 0: no recheck)."""
    stored = os.environ.get(ENV)
    if stored is None:
        return max(MIN_MARGIN, SAFETY * max_logit_error)
    try:
        margin = float(stored)
    except ValueError:
        margin = -1.0
    if not margin >= 0:  # also NaN
        raise ConfigError(f"{ENV} must be a number of logits >= 0 (0: no recheck), not {stored!r}")
    return margin


class RecheckedEngine(Engine):
    """``fast`` scores; a logit within ``margin`` of a boundary (or not finite) is replaced by ``reference``'s."""

    def __init__(self, fast: Engine, reference: Callable[[], Engine], boundaries: Sequence[float],
                 margin: float) -> None:
        self.fast, self._open_reference, self.margin = fast, reference, margin
        self.boundaries = np.asarray(boundaries, dtype=np.float32)
        self.name = f"{fast.name}+fp32-recheck"
        self.scored = self.rechecked = 0  # crops scored, and how many of them fp32 scored again

    @cached_property
    def reference(self) -> Engine:
        return self._open_reference()

    def exact(self) -> Engine:
        return self.reference

    def near_boundary(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits, dtype=np.float32)
        near = ~np.isfinite(logits)
        if self.boundaries.size:
            near |= (np.abs(logits[:, None] - self.boundaries[None, :]) < self.margin).any(axis=1)
        return near

    def run(self, batch: np.ndarray) -> np.ndarray:
        logits = np.array(self.fast.run(batch), dtype=np.float32)
        near = self.near_boundary(logits)
        if near.any():
            logits[near] = self.reference.run(np.ascontiguousarray(batch[near]))
        self.scored += len(logits)
        self.rechecked += int(near.sum())
        return logits

    def describe(self) -> str:
        """One line: the margin and how many crops fp32 scored again so far."""
        return (f"{self.fast.name}, re-scored in fp32 within {self.margin:.2f} logit of a verdict boundary: "
                f"{self.rechecked} of {self.scored} crops so far")
