"""Export a saved model to ONNX (dynamic batch), checked against PyTorch before it is kept.

The ``.onnx`` file carries the model's ``model.json`` (preprocessing, threshold, temperature) in its
metadata and the SHA-256 of the weights it came from. ``Detector.load(folder, backend="onnx")`` keeps
its export in the user cache under that digest, so changed weights get a fresh export.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.data.transforms import build_transform
from deepfake_detector.errors import ExportError, first_line
from deepfake_detector.inference.onnx_backend import META_KEY, OnnxBackend, cached_onnx_path, weights_digest
from deepfake_detector.models.base import DetectorModel
from deepfake_detector.models.meta import ModelMeta
from deepfake_detector.utils.atomic import atomic_path

DEFAULT_TOLERANCE = 1e-4  # max |logit difference| between ONNX Runtime and PyTorch


@dataclass
class ExportResult:
    path: Path
    max_abs_diff: float  # max |logit(ONNX) - logit(PyTorch)| on the parity batch


def parity_batch(preprocess: Preprocess, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` random uint8 images through the model's own transform (realistic input range)."""
    h, w = preprocess.input_size
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8, generator=g)
    return build_transform(preprocess)(images)


def _write_metadata(path: Path, props: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def export_onnx(model: DetectorModel, meta: ModelMeta, out_path: str | Path, opset: int = 17, *,
                tolerance: float = DEFAULT_TOLERANCE, check_batch: int = 3) -> ExportResult:
    """Export a loaded model (with its ``model.json``, stored in the export) to ``out_path`` with a dynamic
    batch axis.

    The export is kept only if ONNX Runtime reproduces PyTorch's logits on a parity batch (of another
    size than the export's, which also checks the dynamic axis) within ``tolerance``; else ExportError.
    """
    on_cpu = next(model.parameters()).device.type == "cpu"
    model = (model if on_cpu else copy.deepcopy(model).cpu()).eval()
    out = Path(out_path)
    h, w = model.preprocess.input_size
    props = {META_KEY: json.dumps(meta.stored())}
    digest = weights_digest(meta.path) if meta.path else None
    if digest:
        props["weights_sha256"] = digest
    with atomic_path(out) as tmp:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
                torch.onnx.export(model, (torch.zeros(2, 3, h, w),), str(tmp), opset_version=opset, dynamo=False,
                                  input_names=["image"], output_names=["logit"],
                                  dynamic_axes={"image": {0: "batch"}, "logit": {0: "batch"}})
        except Exception as exc:  # the exporter raises many types; report one line
            raise ExportError(f"cannot export model to ONNX ({first_line(exc)})") from None
        _write_metadata(tmp, props)
        batch = parity_batch(model.preprocess, check_batch)
        with torch.inference_mode():
            expected = model(batch).float()
        diff = float((OnnxBackend(tmp)(batch) - expected).abs().max())
        if not diff <= tolerance:  # also catches NaN
            raise ExportError(f"ONNX export does not match PyTorch: max |logit difference| {diff:.2e} > "
                              f"tolerance {tolerance:.0e}; not writing {out}")
    return ExportResult(out, diff)


def load_onnx_backend(model: DetectorModel, meta: ModelMeta, folder: str | Path,
                      device: str | torch.device = "cpu") -> OnnxBackend:
    """An ONNX Runtime backend for a model folder (loaded as ``model``, ``meta``), exported (and
    parity-checked) on first use.

    Exports live in the user cache (``~/.cache/deepfake-detector/onnx``, or ``$DEEPFAKE_DETECTOR_CACHE``),
    never in the model folder, which may be read-only or part of the package.
    """
    path = cached_onnx_path(folder)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(model, meta, path)
    return OnnxBackend(path, device)
