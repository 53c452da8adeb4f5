"""OpenVINO CPU backend: the model's ONNX export (the same graph ONNX Runtime runs) at fp32, bf16 or int8.

* fp32 and bf16 share one converted model (OpenVINO IR, fp32 weights): bf16 is the CPU plugin's inference
  precision hint, which OpenVINO honours only on CPUs with bf16 instructions; the engine's name says the
  precision the compiled model reports, so a CPU without them shows ``openvino-fp32``.
* int8 is NNCF post-training quantisation (per-channel weights, activations calibrated on face photos,
  :mod:`deepfake_detector.inference.int8_calibration`); the ops it leaves in float run at fp32.

Converted models live in the user cache (``openvino/<weights sha256>-<precision>-ov<version>``), written to a
temporary folder and renamed into place; OpenVINO's own cache (``openvino/compiled``) keeps compiled blobs, so a
second start skips compilation.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from deepfake_detector.errors import ExportError
from deepfake_detector.inference.engine import Engine
from deepfake_detector.models.weights.fetch import cache_dir

OV_PRECISION = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}  # hint for the ops left in float
MODEL_FILE = "model.xml"
INT8_RECIPE = "ptq-transformer-1"  # part of the int8 cache key: change it when quantize_int8 changes


def openvino_dir() -> Path:
    return cache_dir() / "openvino"


def _version_tag() -> str:
    import openvino as ov

    return ov.get_version().split("-")[0]


def ir_folder(onnx_path: str | Path, precision: str, calibration_key: str | None = None) -> Path:
    """Where the converted model of an ONNX export is cached: keyed by the export (named by the weights'
    SHA-256), the weights' precision, OpenVINO's version and for int8 NNCF's version, the recipe and the calibration
    set."""
    weights = "int8" if precision == "int8" else "fp32"
    key = f"{Path(onnx_path).stem}-{weights}-ov{_version_tag()}"
    if precision == "int8":
        import nncf

        key += f"-nncf{nncf.__version__}-{INT8_RECIPE}-cal{calibration_key}"
    return openvino_dir() / key


def convert(onnx_path: str | Path, precision: str, calibration: np.ndarray | None = None,
            calibration_key: str | None = None) -> Path:
    """The cached OpenVINO IR (``model.xml``) of an ONNX export, converted (and for int8 quantised) on first use."""
    import openvino as ov

    folder = ir_folder(onnx_path, precision, calibration_key)
    if (folder / MODEL_FILE).is_file():
        return folder / MODEL_FILE
    model = ov.Core().read_model(str(onnx_path))
    if precision == "int8":
        if calibration is None:
            raise ExportError("int8 needs calibration images")
        model = quantize_int8(model, calibration)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        ov.save_model(model, str(tmp / MODEL_FILE), compress_to_fp16=False)
        try:
            os.replace(tmp, folder)  # atomic; another process may have won the race, then its copy is kept
        except OSError:
            if not (folder / MODEL_FILE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder / MODEL_FILE


def quantize_int8(model, calibration: np.ndarray):
    """NNCF static int8 quantisation of an OpenVINO model (transformer preset: per-channel symmetric weights,
    activations calibrated on ``calibration``, normalised float images (N, 3, H, W), one at a time)."""
    import nncf

    return nncf.quantize(model, nncf.Dataset([image[None] for image in calibration]),
                         model_type=nncf.ModelType.TRANSFORMER, subset_size=len(calibration),
                         fast_bias_correction=True)


class OpenVinoBackend(Engine):
    """A compiled OpenVINO CPU model over a converted export (input (N, 3, H, W) -> logits (N,))."""

    def __init__(self, ir_path: str | Path, precision: str, threads: int | None = None) -> None:
        import openvino as ov

        core = ov.Core()
        core.set_property({"CACHE_DIR": str(openvino_dir() / "compiled")})
        config = {"INFERENCE_PRECISION_HINT": OV_PRECISION[precision], "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = str(threads)
        self.path = Path(ir_path)
        self.compiled = core.compile_model(str(ir_path), "CPU", config)
        # the precision the plugin compiled for (an ov.Type, whose str() is "<Type: 'bfloat16'>")
        ran = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.precision = "int8" if precision == "int8" else ("bf16" if ran == ov.Type.bf16 else "fp32")
        self.name = f"openvino-{self.precision}"

    def run(self, batch: np.ndarray) -> np.ndarray:
        logits = self.compiled(np.ascontiguousarray(batch, dtype=np.float32))[0]
        return np.asarray(logits, dtype=np.float32).reshape(len(batch))
