"""Inference throughput per backend, with parity against PyTorch eager on real 140k test images.

Backends: eager, channels-last, bf16 autocast (where the CPU has bf16), torch.compile, ONNX Runtime
(fp32, via the toolkit's own export) and int8 ONNX (static QDQ quantisation calibrated on 140k
validation images). Parity: max |P(fake) - P_eager(fake)| and label agreement at 0.5.
"""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from bench_train import make_model
from common import Row, Settings, image_files, load_batch, median_rate

from deepfake_detector.inference import Detector
from deepfake_detector.inference.onnx_backend import OnnxBackend
from deepfake_detector.inference.onnx_export import export_onnx
from deepfake_detector.models.meta import ModelMeta

Logits = Callable[[torch.Tensor], torch.Tensor]
BATCH = 32


def _torch_backend(model: torch.nn.Module, channels_last: bool = False, bf16: bool = False) -> Logits:
    fmt = torch.channels_last if channels_last else torch.contiguous_format

    @torch.inference_mode()
    def logits(batch: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model(batch.contiguous(memory_format=fmt)).float()

    return logits


def _int8_onnx(fp32: Path, calibration: torch.Tensor, out: Path) -> Path:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"image": calibration[i:i + 8].numpy()} for i in range(0, len(calibration), 8)])

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    prepared = out.with_suffix(".prep.onnx")
    quant_pre_process(str(fp32), str(prepared))
    quantize_static(str(prepared), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
    return out


def backends(model: torch.nn.Module, settings: Settings, tmp: Path,
             calibration: torch.Tensor) -> dict[str, tuple[Logits | None, str]]:
    """Backend name -> (logits function or None if unavailable, note)."""
    out: dict[str, tuple[Logits | None, str]] = {"eager": (_torch_backend(model), "")}
    out["channels-last"] = (_torch_backend(copy.deepcopy(model).to(memory_format=torch.channels_last), True), "")
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        out["bf16 autocast"] = (_torch_backend(model, bf16=True), "")
    else:
        out["bf16 autocast"] = (None, "CPU has no bf16")
    if settings.quick:
        out["torch.compile"] = (None, "skipped in quick mode")
    else:
        compiled = torch.compile(copy.deepcopy(model))
        start = time.perf_counter()
        _torch_backend(compiled)(calibration[:BATCH])
        out["torch.compile"] = (_torch_backend(compiled), f"compile {time.perf_counter() - start:.0f} s")
    channels_last = copy.deepcopy(model).to(memory_format=torch.channels_last)  # as Detector runs it
    fp32 = export_onnx(channels_last, ModelMeta.parse({}), tmp / "model.onnx")
    out["ONNX Runtime"] = (OnnxBackend(fp32.path), f"export parity {fp32.max_abs_diff:.0e}")
    try:
        out["ONNX Runtime int8"] = (OnnxBackend(_int8_onnx(fp32.path, calibration, tmp / "int8.onnx")),
                                    f"static QDQ, {len(calibration)} calib. images")
    except Exception as exc:  # quantisation support varies by op set; report instead of failing
        out["ONNX Runtime int8"] = (None, f"quantisation failed: {str(exc).splitlines()[0][:60]}")
    return out


def _scores(fn: Logits, images: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.sigmoid(fn(images[i:i + BATCH]).float()) for i in range(0, len(images), BATCH)])


def bench_model(model: torch.nn.Module, label: str, settings: Settings) -> list[Row]:
    model.eval()
    images = load_batch(image_files("test", settings.n_images), model.preprocess)
    calibration = load_batch(image_files("valid", 32 if settings.quick else 64), model.preprocess)
    batch = images[:BATCH]
    h = model.preprocess.input_size[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        reference: torch.Tensor | None = None
        for name, (fn, note) in backends(model, settings, Path(tmp), calibration).items():
            if fn is None:
                rows.append(Row("infer", f"{label} {h}px: {name}", None, note))
                continue
            rate = median_rate(lambda fn=fn: fn(batch), BATCH, settings.repeats)
            p = _scores(fn, images)
            reference = p if reference is None else reference
            parity = (f"max abs dP {float((p - reference).abs().max()):.1e}, labels agree "
                      f"{float(((p >= 0.5) == (reference >= 0.5)).float().mean()):.1%} (n={len(p)})")
            rows.append(Row("infer", f"{label} {h}px: {name}", rate, "; ".join(x for x in (parity, note) if x)))
    return rows


def run(settings: Settings, models: list[str]) -> list[Row]:
    rows = []
    for entry in models:
        if Path(entry).is_dir():
            rows += bench_model(Detector.load(entry, device="cpu").model, Path(entry).name, settings)
        else:
            rows += bench_model(make_model(entry), entry, settings)
    return rows
