"""Throughput benchmarks on this machine: JPEG decode, training steps, inference per backend with parity, CPU engines
(OpenVINO fp32/bf16/int8 vs ONNX Runtime and PyTorch; then end to end, `predict` and `scan` with the engine `auto`
picks against ONNX Runtime fp32), face detectors, predict, video, scan.

Run with `make bench` (or `python benchmarks/run_all.py --quick`). Each figure is the median of several
timed repeats after a warm-up; peak RSS is the process's peak so far (resource.getrusage).
Data: ../shared/data/140k (override with DEEPFAKE_DETECTOR_SHARED). Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_decode  # noqa: E402
import bench_engines  # noqa: E402
import bench_faces  # noqa: E402
import bench_infer  # noqa: E402
import bench_predict  # noqa: E402
import bench_scan  # noqa: E402
import bench_train  # noqa: E402
import bench_video  # noqa: E402
import torch  # noqa: E402
from common import Row, Settings  # noqa: E402

SECTIONS = ("decode", "train", "infer", "engines", "engines-e2e", "faces", "predict", "video", "scan")


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return (f"{model}, {os.cpu_count()} logical cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | img/s | peak RSS MB | notes |", "|---|---:|---:|---|"]
    for r in rows:
        rate = "n/a" if r.img_per_s is None else f"{r.img_per_s:.1f}"
        lines.append(f"| {r.name} | {rate} | {r.peak_rss_mb:.0f} | {r.note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and images; skip xception, torch.compile")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--models", nargs="+", default=["seed_cnn", "efficientnet_lite0", "mobilenet_v2"],
                        help="inference models: registry names (random weights) or trained run folders")
    parser.add_argument("--engine-model", help="model folder of the engines section (default: the bundled default)")
    parser.add_argument("--train-models", nargs="+", choices=[m for m, _, _ in bench_train.MODELS],
                        help="training benchmarks to run (default all; quick: not xception)")
    parser.add_argument("--repeats", type=int, help="timed runs per figure (default 5, quick 3)")
    parser.add_argument("--scan-paths", type=int, default=20_000,
                        help="the large manifest of the scan memory figure (default 20,000; 100,000 takes ~30 min)")
    args = parser.parse_args(argv)
    settings = Settings(repeats=args.repeats or (3 if args.quick else 5), n_images=64 if args.quick else 256,
                        quick=args.quick)
    print(f"machine: {machine()}", flush=True)
    rows: list[Row] = []
    if "decode" in args.only:
        rows += bench_decode.run(settings)
    if "train" in args.only:
        rows += bench_train.run(settings, args.train_models)
    if "infer" in args.only:
        rows += bench_infer.run(settings, args.models[:2] if args.quick else args.models)
    if "engines" in args.only:
        rows += bench_engines.run(settings, args.engine_model)
    if "engines-e2e" in args.only:
        rows += bench_engines.end_to_end_rows(settings, 64 if args.quick else 600)
    if "faces" in args.only:
        rows += bench_faces.run(settings)
    if "predict" in args.only:
        rows += bench_predict.run(settings)
    if "video" in args.only:
        rows += bench_video.run(settings)
    if "scan" in args.only:
        rows += bench_scan.run(settings, args.scan_paths)
    print(table(rows))
    print(f"median of {settings.repeats} runs; load average at the end "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
