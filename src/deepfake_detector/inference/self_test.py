"""The numeric self-test a reduced-precision engine passes on load before it may score anything.

bf16 and int8 change a model's arithmetic; whether the result still matches fp32 depends on the model, the CPU
and the runtime's version, so it is checked on the machine, every load: the engine scores a few probe images and
its P(fake) must stay within :data:`TOLERANCE` of the fp32 reference with no label changed. The probes are
synthetic (colour fields, noise, face-like ellipses), drawn from fixed seeds, so nothing is shipped and nothing
differs between machines; the reference is ONNX Runtime fp32 on the model's parity-checked export, computed once
and stored beside that export. int8 is also checked on real photos, those of its calibration folder it was not
calibrated on (:func:`~deepfake_detector.inference.int8_calibration.check_files`): on a model whose int8 errors
probes did not show, they do.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.inference.engine import Engine, engine_input
from deepfake_detector.inference.scorer import sigmoid_scores
from deepfake_detector.inference.verdict import VerdictRule
from deepfake_detector.utils.atomic import write_json

TOLERANCE = 0.02  # max |P(fake) - P(fake) at fp32| on any probe
PROBES = 6
SEED = 20240622


def probe_images(input_size: tuple[int, int], n: int = PROBES, seed: int = SEED) -> np.ndarray:
    """``n`` deterministic uint8 RGB images (n, H, W, 3): smooth colour fields with noise of rising strength, and
    on every third one a skin-toned ellipse with two dark eyes (so face-tuned features see something face-like)."""
    from PIL import Image, ImageDraw

    h, w = input_size
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        field = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((w, h), Image.BILINEAR)
        if i % 3 == 2:
            draw = ImageDraw.Draw(field)
            tone = tuple(int(c) for c in rng.integers((150, 100, 80), (240, 190, 160)))
            draw.ellipse((w * 0.25, h * 0.15, w * 0.75, h * 0.9), fill=tone)
            for x in (0.4, 0.6):
                draw.ellipse((w * (x - 0.04), h * 0.4, w * (x + 0.04), h * 0.46), fill=(40, 30, 30))
        noise = rng.normal(0, 6 * (i + 1), (h, w, 3))
        out.append(np.clip(np.asarray(field, dtype=np.float32) + noise, 0, 255).astype(np.uint8))
    return np.stack(out)


def probe_batch(preprocess: Preprocess) -> np.ndarray:
    """The probes as the normalised float batch every engine takes."""
    return engine_input(probe_images(preprocess.input_size), preprocess.mean, preprocess.std)


def reference_path(onnx_path: str | Path, name: str = "probes") -> Path:
    return Path(onnx_path).with_suffix(f".{name}.json")


def reference_logits(onnx_path: str | Path, batch: np.ndarray, name: str = "probes") -> np.ndarray:
    """ONNX Runtime fp32 logits of a test ``batch`` (the probes, or int8's check photos) on the export, computed
    once and stored beside it under ``name`` (keyed by the batch's SHA-256, so another batch gets a fresh
    reference)."""
    from deepfake_detector.inference.onnx_backend import OnnxBackend

    path = reference_path(onnx_path, name)
    digest = hashlib.sha256(np.ascontiguousarray(batch, dtype=np.float32).tobytes()).hexdigest()
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored.get("probes_sha256") == digest:
            return np.array(stored["logits"], dtype=np.float32)
    logits = OnnxBackend(onnx_path).run(batch)
    write_json(path, {"engine": "onnxruntime-fp32", "probes_sha256": digest, "logits": [float(x) for x in logits]})
    return logits


@dataclass(frozen=True)
class SelfTest:
    """How an engine's probe scores compare with fp32's."""

    engine: str
    max_dp: float  # max |ΔP(fake)| over the probes (NaN if the engine gave NaN)
    labels_changed: int
    n: int
    tolerance: float = TOLERANCE
    max_dlogit: float = 0.0  # max |Δlogit| over the probes (NaN if the engine gave NaN)

    @property
    def passed(self) -> bool:
        return self.max_dp <= self.tolerance and self.labels_changed == 0  # NaN fails

    def describe(self) -> str:
        """One line: what was compared and the verdict."""
        verdict = "passed" if self.passed else "failed"
        dp = "NaN" if math.isnan(self.max_dp) else f"{self.max_dp:.4f}"
        return (f"{self.engine} self-test {verdict}: max |ΔP(fake)| {dp} vs fp32 (tolerance {self.tolerance}), "
                f"{self.labels_changed} of {self.n} probe labels changed")


def self_test(engine: Engine, batch: np.ndarray, reference: np.ndarray, temperature: float,
              rule: VerdictRule) -> SelfTest:
    """Score the probe ``batch`` with ``engine`` and compare with the fp32 ``reference`` logits."""
    logits = engine.run(batch)
    got, want = sigmoid_scores(logits, temperature), sigmoid_scores(reference, temperature)
    diff = np.abs(got.astype(np.float64) - want)
    max_dp = float("nan") if np.isnan(diff).any() else float(diff.max())
    dlogit = np.abs(logits.astype(np.float64) - reference)
    max_dlogit = float("nan") if np.isnan(dlogit).any() else float(dlogit.max())
    changed = sum(rule.label(float(a)) != rule.label(float(b)) for a, b in zip(got, want, strict=True))
    return SelfTest(engine.name, max_dp, changed, len(batch), max_dlogit=max_dlogit)
