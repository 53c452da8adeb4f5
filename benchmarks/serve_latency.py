"""Server latency under a few concurrent clients, on 127.0.0.1 only (a bounded loop, never a load test).

    python benchmarks/serve_latency.py [--model RUN] [--backend auto|torch|onnx] [--threads 4 --requests 25]
        [--faces auto|off]

Without ``--model`` the bundled default model is served.

Starts ``deepfake-detector serve`` on a free local port, waits for /health, warms up, then ``threads``
clients each send ``requests`` uploads of the same photos; prints p50/p90/p99/max latency and throughput.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

SHARED = Path(os.environ.get("DEEPFAKE_DETECTOR_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PHOTOS = {"256": SHARED / "data/140k/real_vs_fake/real-vs-fake/test/real/00001.jpg",
          "1024": next(iter(sorted((SHARED / "data/cross/originals-1024/real").glob("*.jpg"))), None)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(url: str, data: bytes, threads: int, requests: int, faces: str) -> tuple[list[float], float]:
    def client(_: int) -> list[float]:
        times = []
        with httpx.Client(timeout=60) as c:
            for _ in range(requests):
                start = time.perf_counter()
                r = c.post(f"{url}/v1/predict?faces={faces}", files={"file": ("photo.jpg", data, "image/jpeg")})
                r.raise_for_status()
                times.append(time.perf_counter() - start)
        return times

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = [t for ts in pool.map(client, range(threads)) for t in ts]
    return latencies, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model folder (default: the bundled default model)")
    ap.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--requests", type=int, default=25, help="per thread")
    ap.add_argument("--faces", default="auto")
    ap.add_argument("--torch-threads", type=int, default=2)
    args = ap.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    model = ["--model", args.model] if args.model else []
    server = subprocess.Popen([sys.executable, "-m", "deepfake_detector.cli", "serve", *model, "--backend",
                               args.backend, "--port", str(port), "--threads", str(args.torch_threads)])
    try:
        wait_ready(url)
        for size, photo in PHOTOS.items():
            data = photo.read_bytes()
            run(url, data, 1, 3, args.faces)  # warm-up
            lat, wall = run(url, data, args.threads, args.requests, args.faces)
            ms = [t * 1000 for t in lat]
            print(f"{size}px JPEG, faces={args.faces}, {args.threads} threads x {args.requests} requests: "
                  f"p50 {statistics.median(ms):.0f} ms  p90 {percentile(ms, 0.9):.0f} ms  "
                  f"p99 {percentile(ms, 0.99):.0f} ms  max {max(ms):.0f} ms  {len(ms) / wall:.1f} req/s")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
