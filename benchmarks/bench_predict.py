"""End-to-end `predict --faces off` over a folder of real images, per bundled model, and where the time goes.

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


def run(settings: Settings, models: tuple[str, ...] = MODELS) -> list[Row]:
    rows = []
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
        rows.append(Row("predict", f"predict --faces off, {model} model ({detector.meta['model']['name']}, "
                                   f"{n} images)", n / seconds,
                        f"wall {seconds:.1f} s incl. start-up; in-process: load {load_s:.1f} s, "
                        f"decode+score {n / score_s:.1f} img/s; backend {'onnx' if detector.runner else 'torch'}"))
    return rows
