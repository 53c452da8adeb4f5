"""A compact copy of a saved model: fp16 weights (half the bytes), checked against the original.

This is how the bundled default model is made (``deepfake-detector export RUN --fp16 DIR``): the folder
keeps ``model.json`` (but for the weights' hash) and loads back as float32, so nothing else needs to know.
"""

from __future__ import annotations

import copy
from pathlib import Path

from safetensors.torch import save_file

from deepfake_detector.errors import ExportError
from deepfake_detector.inference.detector import Detector
from deepfake_detector.inference.onnx_export import ExportResult, parity_batch
from deepfake_detector.models.artifacts import WEIGHTS_FILE, write_meta
from deepfake_detector.utils.atomic import atomic_path
from deepfake_detector.utils.hashing import file_sha256

DEFAULT_TOLERANCE = 5e-3  # max |P(fake) difference| between the fp16 copy and the original


def export_half(folder: str | Path, out_dir: str | Path, *, tolerance: float = DEFAULT_TOLERANCE,
                check_batch: int = 4) -> ExportResult:
    """Write ``out_dir`` = ``folder`` with fp16 weights; kept only if its scores match within ``tolerance``."""
    folder, out_dir = Path(folder), Path(out_dir)
    if out_dir.resolve() == folder.resolve():
        raise ExportError(f"{out_dir}: the fp16 copy must go to another folder than the model itself")
    original = Detector.load(folder, device="cpu")
    model = original.model
    # What the folder stores (a CLIP detector keeps its frozen encoder in the weights cache, not here).
    stored = model.saved_state_dict()
    half = {k: v.half() if v.is_floating_point() else v for k, v in stored.items()}
    compact = Detector(copy.deepcopy(model), original.meta, "cpu")
    compact.model.load_state_dict(half, strict=model.stores_every_weight)  # fp16-rounded, back to fp32
    batch = parity_batch(original.preprocess, check_batch)
    diff = float((compact.scores(batch) - original.scores(batch)).abs().max())
    if not diff <= tolerance:  # also catches NaN
        raise ExportError(f"fp16 weights change P(fake) by {diff:.2e} > tolerance {tolerance:.0e}; "
                          f"not writing {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / WEIGHTS_FILE) as tmp:
        save_file({k: v.contiguous() for k, v in half.items()}, str(tmp))
        digest = file_sha256(tmp)
    write_meta(out_dir, original.meta.updated({"weights_sha256": digest}))
    return ExportResult(out_dir, diff)
