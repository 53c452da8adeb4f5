"""Which engine scores a model: chosen from the CPU's flags, kept only if it passes the self-test on load.

``--backend auto`` on a CPU with bf16 or int8 hardware (:mod:`deepfake_detector.inference.cpu_features`) runs
OpenVINO at that precision; on any other CPU, and on a GPU, it keeps what it always did (PyTorch, or ONNX
Runtime for models it speeds up), so such machines get neither slower nor less accurate. ``--backend openvino``
runs OpenVINO at the precision the flags allow; ``openvino-fp32``, ``openvino-bf16`` and ``openvino-int8`` force
one. A reduced-precision engine that fails the self-test (:mod:`deepfake_detector.inference.self_test`) or cannot
be built gives way to the next one, OpenVINO fp32 (when OpenVINO was asked for) then ONNX Runtime fp32, the
reference itself, with one line saying why. One that passes scores everything, and the crops it scores near a
verdict boundary are scored again in fp32 (:mod:`deepfake_detector.inference.recheck`), so its labels are fp32's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepfake_detector.errors import ConfigError, first_line
from deepfake_detector.inference.cpu_features import PRECISIONS, choose_precision
from deepfake_detector.inference.engine import Engine
from deepfake_detector.inference.verdict import VerdictRule
from deepfake_detector.models.meta import ModelMeta

# openvino-<precision> forces a precision; "openvino" takes it from the CPU flags, as "auto" does.
BACKENDS = ("auto", "torch", "onnx", "openvino", *(f"openvino-{p}" for p in PRECISIONS))
DEFAULT = "default"  # plan backend: what "auto" chose before OpenVINO (PyTorch, or ONNX Runtime by model)

if TYPE_CHECKING:
    from deepfake_detector.inference.self_test import SelfTest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnginePlan:
    backend: str  # "torch", "onnx", "openvino" or DEFAULT
    precision: str  # one of PRECISIONS
    reason: str  # why, in a few words (the CPU flags that decided it)
    forced: bool = False  # OpenVINO named by --backend: its fp32 is tried before ONNX Runtime's


@dataclass(frozen=True)
class EngineLoad:
    engine: Engine
    note: str | None  # one line when the planned engine was not the one kept: why


def plan_engine(backend: str, flags: frozenset[str] | set[str], gpu: bool) -> EnginePlan:
    """The engine to try for ``backend`` on a machine with these CPU ``flags`` (and a GPU or not)."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    if backend in ("torch", "onnx"):
        return EnginePlan(backend, "fp32", f"--backend {backend}")
    if backend.startswith("openvino-"):
        return EnginePlan("openvino", backend.removeprefix("openvino-"), f"--backend {backend}", forced=True)
    if backend == "auto" and gpu:
        return EnginePlan(DEFAULT, "fp32", "a GPU is present")
    choice = choose_precision(flags)
    if backend == "auto" and choice.precision == "fp32":
        return EnginePlan(DEFAULT, "fp32", choice.reason)
    return EnginePlan("openvino", choice.precision, choice.reason, forced=backend == "openvino")


def _openvino(onnx_path: Path, precision: str, meta: ModelMeta, threads: int | None) -> Engine:
    from deepfake_detector.inference.int8_calibration import ENV, load_calibration
    from deepfake_detector.inference.openvino_backend import OpenVinoBackend, convert

    if precision != "int8":
        return OpenVinoBackend(convert(onnx_path, precision), precision, threads)
    calibration = load_calibration(meta.preprocess)
    if calibration is None:
        raise ConfigError(f"int8 needs calibration photos: set {ENV} to a folder of face photos")
    return OpenVinoBackend(convert(onnx_path, "int8", calibration.batch, calibration.key), "int8", threads)


def open_engine(onnx_path: str | Path, meta: ModelMeta, plan: EnginePlan, threads: int | None = None) -> EngineLoad:
    """The first engine of the plan's chain that builds and passes the self-test; ONNX Runtime fp32 at the end.

    ``meta`` is the model's model.json (preprocessing, temperature, threshold and uncertain band).
    """
    from deepfake_detector.inference.onnx_backend import OnnxBackend
    from deepfake_detector.inference.self_test import probe_batch, self_test

    onnx_path = Path(onnx_path)
    # A reduced precision that fails falls back to ONNX Runtime fp32, the engine auto picks on CPUs without bf16/int8
    # hardware (and the self-test's reference); OpenVINO fp32 only where OpenVINO was asked for by name. (OpenVINO
    # fp32 compiled after a rejected bf16 model left the process to crash in a later torch training run.)
    chain = [plan.precision] + (["fp32"] if plan.precision != "fp32" and plan.forced else [])
    batch = probe_batch(meta.preprocess)
    band = meta.uncertain
    rule = VerdictRule.checked(meta.threshold, band and (band.low, band.high))
    temperature = meta.temperature or 1.0
    rejected: list[str] = []
    for precision in chain:
        try:
            engine = _openvino(onnx_path, precision, meta, threads)
            result = self_test(engine, *_test_batch(onnx_path, batch, precision, meta), temperature, rule)
        except Exception as exc:  # converters, quantiser and runtimes raise many types; one line says which
            rejected.append(f"openvino-{precision} unavailable ({first_line(exc)})")
            continue
        if result.passed:
            return _loaded(_with_recheck(engine, onnx_path, rule, temperature, result, threads), rejected)
        rejected.append(result.describe())
    return _loaded(OnnxBackend(onnx_path, threads=threads), rejected)


def _with_recheck(engine: Engine, onnx_path: Path, rule: VerdictRule, temperature: float, result: SelfTest,
                  threads: int | None) -> Engine:
    """A reduced-precision engine (its name says which precision OpenVINO really compiled) whose crops near a
    verdict boundary are scored again in fp32 (:mod:`deepfake_detector.inference.recheck`); fp32, or a margin of
    0, as it is."""
    from deepfake_detector.inference.onnx_backend import OnnxBackend
    from deepfake_detector.inference.recheck import RecheckedEngine, boundary_logits, recheck_margin

    margin = recheck_margin(result.max_dlogit)
    if engine.name.endswith("-fp32") or margin == 0:
        return engine
    return RecheckedEngine(engine, lambda: OnnxBackend(onnx_path, threads=threads),
                           boundary_logits(rule, temperature), margin)


def _test_batch(onnx_path: Path, probes: np.ndarray, precision: str, meta: ModelMeta) -> tuple[np.ndarray, np.ndarray]:
    """The self-test's images and their fp32 reference logits: the probes, and for int8 also the photos of the
    calibration folder it was not calibrated on."""
    from deepfake_detector.inference.int8_calibration import load_check_photos
    from deepfake_detector.inference.self_test import reference_logits

    reference = reference_logits(onnx_path, probes)
    photos = load_check_photos(meta.preprocess) if precision == "int8" else None
    if photos is None:
        return probes, reference
    return (np.concatenate([probes, photos.batch]),
            np.concatenate([reference, reference_logits(onnx_path, photos.batch, f"photos-{photos.key}")]))


def _loaded(engine: Engine, rejected: list[str]) -> EngineLoad:
    note = f"{'; '.join(rejected)}: using {engine.name}" if rejected else None
    if note:
        log.warning(note)
    return EngineLoad(engine, note)
