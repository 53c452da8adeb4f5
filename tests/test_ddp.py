"""Data-parallel training: 2 CPU processes (Lightning DDP over gloo) match 1 process within tolerance."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from deepfake_detector.inference import Detector

# Small, dropout-free, plain SGD with a small step: the result then hardly depends on the order in
# which the samplers visit the images, so 1 x batch 4 and 2 x batch 2 must agree closely.
COMMON = ["model.args.input_size=32", "model.args.channels=[8,16]", "model.args.dense=16", "model.args.dropout=0",
          "train.optimizer=sgd", "train.lr=0.03", "train.epochs=2", "train.keep=last", "train.accelerator=cpu",
          "data.num_workers=0"]


def _train(data: Path, out: Path, flags: list[str], overrides: list[str]) -> list[dict]:
    cmd = [sys.executable, "-m", "deepfake_detector.cli", "train", "--data", str(data), "--out", str(out),
           "--quiet", *flags, *COMMON, *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with (out / "history.csv").open() as f:
        return list(csv.DictReader(f))


def test_two_processes_match_one(tiny_dataset: Path, tmp_path: Path) -> None:
    one = _train(tiny_dataset, tmp_path / "one", [], ["train.devices=1", "train.batch_size=4"])
    two = _train(tiny_dataset, tmp_path / "two", ["--devices", "2", "--strategy", "ddp"], ["train.batch_size=2"])
    assert len(one) == len(two) == 2  # same epochs
    assert float(two[-1]["val_loss"]) < 0.69  # it learned (ln 2 = 0.693 at the start)
    assert abs(float(one[-1]["val_loss"]) - float(two[-1]["val_loss"])) < 0.02
    files = sorted(str(p) for p in tiny_dataset.rglob("*.*"))
    p1 = [p.p_fake for p in Detector.load(tmp_path / "one", device="cpu").predict(files, faces="off")]
    p2 = [p.p_fake for p in Detector.load(tmp_path / "two", device="cpu").predict(files, faces="off")]
    assert max(abs(a - b) for a, b in zip(p1, p2, strict=True)) < 0.02
