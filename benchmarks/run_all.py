"""Throughput benchmarks on this machine: JPEG decode, seed-CNN training step, CPU inference.

Run with `make bench`. Each figure is the median of several timed repeats after a warm-up.
Data: ../shared/data/140k (override with DEEPFAKE_DETECTOR_SHARED).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

import torch

from deepfake_detector.data import discover, read_image
from deepfake_detector.data.transforms import build_transform, resize_uint8
from deepfake_detector.models import create_model

SHARED = Path(os.environ.get("DEEPFAKE_DETECTOR_SHARED", Path(__file__).resolve().parents[2] / "shared"))
REPEATS = 5


def median_rate(fn, items_per_call: int, repeats: int = REPEATS) -> float:
    fn()  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(items_per_call / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    files = [s.path for s in discover(SHARED / "data" / "140k").splits["train"][:256]]
    rows = [("JPEG decode 256x256 (torchvision)", median_rate(lambda: [read_image(f) for f in files], len(files)))]

    model = create_model("seed_cnn", input_size=128)
    tf = build_transform(model.preprocess)
    batch = torch.stack([tf(resize_uint8(read_image(f), model.preprocess)) for f in files[:32]])
    labels = torch.randint(0, 2, (32,)).float()
    opt = torch.optim.Adam(model.parameters())

    def train_step() -> None:
        model.train()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(batch), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()

    rows.append(("seed_cnn train step 128px, batch 32 (eager)", median_rate(train_step, 32)))
    model.eval()

    @torch.inference_mode()
    def infer() -> None:
        model(batch)

    rows.append(("seed_cnn inference 128px, batch 32 (eager)", median_rate(infer, 32)))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    width = max(len(name) for name, _ in rows)
    print(f"{'benchmark':<{width}}  img/s")
    for name, rate in rows:
        print(f"{name:<{width}}  {rate:8.1f}")


if __name__ == "__main__":
    main()
