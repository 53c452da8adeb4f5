"""End-to-end `predict` as a user runs it: start-up (`--help`), one photo through the torch-free ONNX path,
faces over the 140k test split, and `--faces off` over a folder per bundled model (where the time goes).

Each figure runs the real command in a fresh process (start-up and model load included), so it is what
a user waits for; the split below times the same steps in-process: model load, then decode + resize +
scoring through `Detector.predict`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Row, Settings, image_files

from deepfake_detector import Detector

MODELS = ("default", "fast")


def _command_seconds(model: str, files: list[Path], repeats: int) -> float:
    cli = Path(sys.executable).with_name("deepfake-detector")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([str(cli), "predict", *map(str, files), "--model", model, "--faces", "off", "--quiet",
                            "--output", str(Path(tmp) / "out.json")], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _timed(cmd: list[str], repeats: int) -> tuple[float, float]:
    """Median wall seconds of a command, and its peak RSS in MB (a fresh child each run)."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    runs = [subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True)
            .stdout.split() for _ in range(repeats)]
    return statistics.median(float(r[0]) for r in runs), max(float(r[1]) for r in runs)


def startup_rows(settings: Settings) -> list[Row]:
    cli = str(Path(sys.executable).with_name("deepfake-detector"))
    photo = image_files("test", 1)
    rows = []
    seconds, rss = _timed([cli, "--help"], settings.repeats)
    rows.append(Row("predict", "deepfake-detector --help", None, f"{seconds:.2f} s wall, {rss:.0f} MB peak"))
    Detector.load("fast", backend="onnx")  # makes sure the export is cached, as after a first use
    seconds, rss = _timed([cli, "predict", str(photo[0]), "--model", "fast", "--backend", "onnx", "--faces", "off"],
                          settings.repeats)
    rows.append(Row("predict", "one photo, fast model, --backend onnx --faces off (no torch)", 1 / seconds,
                    f"{seconds:.2f} s wall, {rss:.0f} MB peak"))
    test = image_files("test", 10_000)
    seconds, rss = _timed([cli, "predict", *map(str, test), "--model", "fast", "--quiet"], 1)
    rows.append(Row("predict", f"faces auto over the {len(test)} 140k test images, fast model", len(test) / seconds,
                    f"{seconds:.1f} s wall incl. start-up, {rss:.0f} MB peak"))
    return rows


def clip_variant_rows(settings: Settings, n: int = 16) -> list[Row]:
    """The default CLIP model's forward pass: PyTorch fp32, dynamic int8 (label flips vs fp32 on validation
    images), and ONNX Runtime on the encoder's float graph (the same arithmetic, docs/clip.md)."""
    import tempfile
    import zipfile

    import onnxruntime as ort
    import torch
    from common import load_batch, median_rate

    from deepfake_detector.models.weights.clip_onnx import float_graph
    from deepfake_detector.models.weights.fetch import wheel_file

    detector = Detector.load(device="cpu", backend="torch")
    batch = load_batch(image_files("valid", n), detector.preprocess)
    model = detector.model
    with torch.inference_mode():
        ref = torch.sigmoid(model(batch))
        fp32 = median_rate(lambda: model(batch), n, settings.repeats)
        int8 = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        q = torch.sigmoid(int8(batch))
        int8_rate = median_rate(lambda: int8(batch), n, settings.repeats)
    flips = int(((q >= detector.threshold) != (ref >= detector.threshold)).sum())
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel_file("clip_vit_b16")) as zf:
        onnx_path = Path(tmp) / "clip.onnx"
        onnx_path.write_bytes(zf.read(next(m for m in zf.namelist() if m.endswith(".onnx"))))
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(float_graph(onnx_path).SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        x = batch.numpy()
        ort_rate = median_rate(lambda: session.run(["image_embeds"], {"pixel_values": x}), n, settings.repeats)
    return [Row("predict", "default model forward, PyTorch fp32", fp32, f"{n} validation images, shipped"),
            Row("predict", "default model forward, PyTorch dynamic int8", int8_rate,
                f"max |dP| {float((q - ref).abs().max()):.2f}, {flips} of {n} labels flipped: not shipped"),
            Row("predict", "CLIP encoder, ONNX Runtime float graph", ort_rate, "the same arithmetic as fp32")]


def run(settings: Settings, models: tuple[str, ...] = MODELS) -> list[Row]:
    rows = startup_rows(settings) + clip_variant_rows(settings)
    for model in models:
        n = 24 if model == "default" else settings.n_images  # the ViT runs ~2 img/s on 2 cores
        files = image_files("test", n)
        repeats = 1 if model == "default" else settings.repeats
        seconds = _command_seconds(model, files, repeats)
        start = time.perf_counter()
        detector = Detector.load(model, backend="auto")  # what the command uses
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        detector.predict(files, faces="off")
        score_s = time.perf_counter() - start
        rows.append(Row("predict", f"predict --faces off, {model} model ({detector.meta.model.name}, "
                                   f"{n} images)", n / seconds,
                        f"wall {seconds:.1f} s incl. start-up; in-process: load {load_s:.1f} s, "
                        f"decode+score {n / score_s:.1f} img/s; backend {'onnx' if detector.runner else 'torch'}"))
    return rows
