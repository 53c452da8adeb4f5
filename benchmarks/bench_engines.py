"""CPU engines compared in one run on one model (default: the bundled default model): PyTorch fp32, ONNX Runtime
fp32, OpenVINO fp32 / bf16 / int8 (inference/engine_choice.py), at batch 1 and batch 16, with parity against ONNX
Runtime fp32 (the self-test's reference) on real 140k test images at the model's own threshold, and the engine
``--backend auto`` picks on this CPU (its flags are printed: bf16 and int8 figures mean little without them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from common import Row, Settings, image_files, load_batch

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.inference import Detector
from deepfake_detector.inference.cpu_features import BF16_FLAGS, INT8_FLAGS, cpu_flags
from deepfake_detector.inference.engine_choice import EnginePlan, open_engine, plan_engine
from deepfake_detector.inference.int8_calibration import load_calibration
from deepfake_detector.inference.onnx_backend import OnnxBackend
from deepfake_detector.inference.onnx_export import load_onnx_backend
from deepfake_detector.inference.openvino_backend import OpenVinoBackend, convert
from deepfake_detector.inference.recheck import RecheckedEngine
from deepfake_detector.inference.scorer import sigmoid_scores

Logits = Callable[[np.ndarray], np.ndarray]
BATCH = 16


def _torch(model: torch.nn.Module) -> Logits:
    @torch.inference_mode()
    def logits(batch: np.ndarray) -> np.ndarray:
        return model(torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)).float().numpy()

    return logits


def _timed(fn: Logits, images: np.ndarray) -> tuple[np.ndarray, float]:
    """Logits of every image in batches of BATCH, and the rate over all batches but the first (a warm-up): an
    engine that re-scores some crops in fp32 pays for them in this rate."""
    out, seconds = [], []
    for i in range(0, len(images), BATCH):
        start = time.perf_counter()
        out.append(fn(images[i:i + BATCH]))
        seconds.append(time.perf_counter() - start)
    timed = seconds[1:] or seconds
    return np.concatenate(out), (len(images) - BATCH * (len(seconds) > 1)) / sum(timed)


def _single(fn: Logits, images: np.ndarray, n: int = 6) -> float:
    fn(images[:1])
    start = time.perf_counter()
    for i in range(n):
        fn(images[i:i + 1])
    return n / (time.perf_counter() - start)


def flags_line() -> str:
    flags = cpu_flags()
    wanted = [f for f in ("avx2", "avx512f", *INT8_FLAGS, *BF16_FLAGS, "amx_tile") if f in flags]
    return f"CPU flags: {' '.join(wanted) or 'none of avx2/avx512/vnni/bf16/amx'}"


def run(settings: Settings, model: str | None = None) -> list[Row]:
    """Engines for ``model`` (a folder; None: the bundled default model) on ``settings.n_images`` test images."""
    detector = Detector.load(model, device="cpu", backend="torch")
    folder = Path(detector.meta.path)
    onnx_path = load_onnx_backend(detector.model, detector.meta, folder).path  # the export every non-torch engine runs
    meta = detector.meta
    pre: Preprocess = detector.preprocess
    n = settings.n_images
    images = load_batch(image_files("test", n), pre).numpy()
    os.environ.setdefault("DEEPFAKE_DETECTOR_CALIBRATION",
                          str(image_files("valid", 1)[0].parents[1]))  # 140k validation split, both classes
    calibration = load_calibration(pre)
    print(flags_line(), f"; int8 calibration: {0 if calibration is None else len(calibration.batch)} valid images",
          flush=True)
    plan = plan_engine("auto", cpu_flags(), gpu=False)
    rows: list[Row] = []
    rechecked: dict[str, RecheckedEngine] = {}
    engines: dict[str, tuple[Logits, str]] = {
        "onnxruntime fp32": (OnnxBackend(onnx_path).run, "reference of the self-test"),
        "torch fp32": (_torch(detector.model), "the Detector's own path"),
    }
    for precision in ("fp32", "bf16", "int8"):
        start = time.perf_counter()
        loaded = open_engine(onnx_path, meta, EnginePlan("openvino", precision, "benchmark"))
        seconds = time.perf_counter() - start
        # measured as built even when the self-test rejects it: how far it really is from fp32 on photos
        raw = OpenVinoBackend(convert(onnx_path, precision, *((calibration.batch, calibration.key)
                                                              if precision == "int8" and calibration else ())),
                              precision)
        verdict = f"self-test rejects it ({loaded.note})" if loaded.note else "self-test passed"
        if raw.name != f"openvino-{precision}":  # bf16 on a CPU without it: the fp32 row again, not measured twice
            rows.append(Row("engines", f"{folder.name}: openvino {precision}", None,
                            f"runs as {raw.name} on this CPU (no bf16 instructions); {verdict}"))
            continue
        engines[f"openvino {precision}"] = (
            raw.run, f"load {seconds:.0f} s incl. self-test (first use also converts/quantises); {verdict}")
        if isinstance(loaded.engine, RecheckedEngine):  # what --backend auto runs: near a boundary, fp32 again
            engines[f"openvino {precision} + fp32 recheck"] = (loaded.engine.run, "")
            rechecked[f"openvino {precision} + fp32 recheck"] = loaded.engine
    reference: np.ndarray | None = None
    rule, temperature = detector.verdict, detector.temperature
    for name, (fn, note) in engines.items():
        logits, rate = _timed(fn, images)
        reference = logits if name == "onnxruntime fp32" else reference
        parity = ""
        if reference is not None:
            p, p_reference = sigmoid_scores(logits, temperature), sigmoid_scores(reference, temperature)
            agree = np.mean([rule.label(float(a)) == rule.label(float(b)) for a, b in zip(p, p_reference,
                                                                                           strict=True)])
            dp, dlogit = np.abs(p.astype(np.float64) - p_reference), np.abs(logits.astype(np.float64) - reference)
            parity = (f"vs ORT fp32: median |dP| {np.median(dp):.1e}, max {dp.max():.1e}; |dlogit| median "
                      f"{np.median(dlogit):.2f}, 99th percentile {np.percentile(dlogit, 99):.2f}, max "
                      f"{dlogit.max():.2f}; labels agree {agree:.1%}; ")
        if name in rechecked:
            note = rechecked[name].describe()
        one = _single(fn, images)
        rows.append(Row("engines", f"{folder.name}: {name}, batch {BATCH}", rate,
                        f"{parity}batch 1: {one:.2f} img/s; n={len(images)}; {note}"))
    rows.append(Row("engines", f"{folder.name}: --backend auto picks", None,
                    f"{plan.backend} {plan.precision} ({plan.reason}); {flags_line()}"))
    return rows


def _predict_labels(files: list[Path], backend: str, faces: str, out: Path) -> tuple[float, dict[str, str]]:
    """Wall seconds of one `predict` command (fresh process: start-up and model load included) and its labels."""
    import json
    import subprocess
    import sys

    cli = Path(sys.executable).with_name("deepfake-detector")
    start = time.perf_counter()
    subprocess.run([str(cli), "predict", *map(str, files), "--backend", backend, "--faces", faces, "--quiet",
                    "--output", str(out)], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    return seconds, {p["path"]: p["label"] for p in json.loads(out.read_text())["predictions"]}


def end_to_end_rows(settings: Settings, n: int = 600) -> list[Row]:
    """What a user waits for with the bundled default model, `--backend onnx` (fp32) against `--backend auto`
    (the engine this CPU's flags choose): `predict` over ``n`` face photos (140k test + validation) with faces
    off and on, and `scan` of the same photos; labels of the 140k test split compared between the two."""
    import tempfile

    from deepfake_detector.scan import read_summary, scan

    test = image_files("test", 10_000)
    files = (test + image_files("valid", 10_000))[:n]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for faces in ("off", "auto"):
            labels = {}
            for backend in ("onnx", "auto"):
                seconds, labels[backend] = _predict_labels(files, backend, faces, Path(tmp) / f"{backend}.json")
                rows.append(Row("engines-e2e", f"predict --faces {faces} --backend {backend}, default model",
                                len(files) / seconds, f"{len(files)} photos, {seconds:.0f} s wall incl. start-up"))
            same = [labels["onnx"][str(f)] == labels["auto"][str(f)] for f in test]
            rows.append(Row("engines-e2e", f"labels, --faces {faces}: auto vs onnx on the 140k test split", None,
                            f"{sum(same)} of {len(same)} equal"))
        start = time.perf_counter()
        scan(files, Path(tmp) / "scan", None, backend="auto", faces="auto", progress=False)
        wall = time.perf_counter() - start
        rows.append(Row("engines-e2e", "scan --backend auto --faces auto, default model",
                        read_summary(Path(tmp) / "scan")["img_per_s"],
                        f"{len(files)} photos; scoring rate from the scan's summary; {wall:.0f} s wall incl. load"))
    rows.append(Row("engines-e2e", "CPU", None, flags_line()))
    return rows
