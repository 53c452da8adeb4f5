"""`scan` at scale: what the scan adds to the prediction pipeline, Ray Data on the same cores, memory vs input count.

- pipeline overhead: ``predict()`` of the fast model (ONNX Runtime, faces off) over N paths, against a local
  ``scan`` of the same N paths (enumeration, content SHA-256, Parquet shards, manifest), run alternately
  so both see the same machine load; scan's rate is its scoring throughput (model load excluded);
- the Ray engine (local Ray on this machine's cores, 1 and 2 actors) against the local engine, same paths;
- memory: peak RSS of the whole `scan` command for a small and a large manifest (repeated real paths),
  and the resident memory of the scan's own work over a million paths (a stub predictor).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from bench_predict import _timed
from common import Row, Settings, image_files

from deepfake_detector import Detector
from deepfake_detector.inference.loading import load_predictor
from deepfake_detector.scan import read_summary, scan

FAST = {"backend": "onnx", "faces": "off"}


def _manifest(folder: Path, n: int) -> Path:
    """A Parquet manifest of ``n`` scans of the 140k test and validation images, repeated."""
    files = [str(p) for p in image_files("test", 10_000) + image_files("valid", 10_000)]
    path = folder / f"paths-{n}.parquet"
    pq.write_table(pa.table({"path": [files[i % len(files)] for i in range(n)]}), path)
    return path


def _scan_rate(manifest: Path, out: Path, **options) -> tuple[float, float]:
    """Scoring img/s (from the scan's summary) and wall seconds including the model load."""
    start = time.perf_counter()
    scan(manifest, out, "fast", **FAST, **options)
    return read_summary(out)["img_per_s"], time.perf_counter() - start


def overhead_rows(settings: Settings, tmp: Path, n: int) -> list[Row]:
    manifest = _manifest(tmp, n)
    paths = pq.read_table(manifest)["path"].to_pylist()
    predictor = load_predictor("fast", "onnx")
    predictor.predict(paths[:64], faces="off")  # warm-ups
    _scan_rate(manifest, tmp / "local-warm-up")
    raw, scanned, walls = [], [], []
    for i in range(settings.repeats):
        start = time.perf_counter()
        predictor.predict(paths, faces="off")
        raw.append(n / (time.perf_counter() - start))
        rate, wall = _scan_rate(manifest, tmp / f"local-{i}")
        scanned.append(rate)
        walls.append(wall)
    raw_rate, scan_rate = statistics.median(raw), statistics.median(scanned)
    return [Row("scan", f"predict() of the fast model, {n} paths (faces off, ONNX Runtime)", raw_rate,
                "the pipeline alone: decode + resize + score"),
            Row("scan", f"scan, local engine, {n} paths", scan_rate,
                f"overhead vs predict() {100 * (1 - scan_rate / raw_rate):.1f}%; wall {statistics.median(walls):.1f} s "
                "incl. model load; adds SHA-256, Parquet shards, manifest")]


def ray_rows(tmp: Path, n: int) -> list[Row]:
    import ray

    manifest = _manifest(tmp, n)
    start = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    started = time.perf_counter() - start
    rows = []
    try:
        for workers in (1, 2):
            rate, wall = _scan_rate(manifest, tmp / f"ray-{workers}", engine="ray", workers=workers)
            rows.append(Row("scan", f"scan, Ray engine, {workers} actor(s) on {os.cpu_count()} cores, {n} paths",
                            rate, f"wall {wall:.1f} s incl. actor start-up and model loads; ray.init {started:.1f} s"))
    finally:
        ray.shutdown()
    return rows


def memory_rows(tmp: Path, sizes: tuple[int, ...]) -> list[Row]:
    """Peak RSS of the `scan` command (a fresh process each) as the manifest grows."""
    cli = str(Path(sys.executable).with_name("deepfake-detector"))
    rows = []
    for n in sizes:
        manifest = _manifest(tmp, n)
        seconds, rss = _timed([cli, "scan", str(manifest), "--out", str(tmp / f"mem-{n}"), "--model", "fast",
                               "--backend", "onnx", "--faces", "off", "--quiet"], 1)
        rows.append(Row("scan", f"scan command, {n:,}-path manifest, fast model, --backend onnx --faces off",
                        n / seconds, f"{seconds:.0f} s wall, {rss:.0f} MB peak"))
    return rows


# The scan's own work with a predictor that answers at once: enumeration, SHA-256, Parquet shards, manifest.
_MACHINERY = """
import sys
from deepfake_detector.inference.prediction import Prediction
from deepfake_detector.scan.inputs import iter_inputs
from deepfake_detector.scan.local import run_local
from deepfake_detector.scan.shards import ScanFolder, ShardSink

class Stub:
    model_id, threshold = "stub@0", 0.5
    def predict(self, paths, batch_size=32, progress=False, faces="off"):
        return [Prediction(p, 0.5, "fake") for p in paths]

class ResidentMemory:  # the sink's progress hook: current RSS after a tenth of the inputs and at the end
    def __init__(self, n):
        self.n, self.done, self.seen = n, 0, []
    def update(self, k):
        before, self.done = self.done, self.done + k
        if before < self.n // 10 <= self.done or self.done == self.n:
            self.seen.append(int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20)

memory = ResidentMemory(int(sys.argv[3]))
folder = ScanFolder.open(sys.argv[2])
sink = ShardSink(folder, 2000, memory)
run_local(sink, iter_inputs([sys.argv[1]]), predictor=Stub(), faces="off", batch_size=32)
sink.close()
print(*memory.seen)
"""


def machinery_row(tmp: Path, n: int = 1_000_000) -> Row:
    """Resident memory of the scan's own work after n/10 and after n paths (a stub predictor)."""
    import subprocess

    manifest = _manifest(tmp, n)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MACHINERY, str(manifest), str(tmp / "machinery"), str(n)],
                          check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    tenth, whole = map(float, done.stdout.split())
    return Row("scan", f"scan machinery alone (stub predictor), {n:,}-path manifest", n / seconds,
               f"resident {tenth:.0f} MB after {n // 10:,} paths, {whole:.0f} MB after {n:,}")


def run(settings: Settings, big: int = 20_000) -> list[Row]:
    Detector.load("fast", backend="onnx")  # makes sure the ONNX export is cached, as after a first use
    n = 256 if settings.quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        rows = overhead_rows(settings, Path(tmp), n)
        try:
            rows += ray_rows(Path(tmp), n)
        except ImportError:
            rows.append(Row("scan", "scan, Ray engine", None, "skipped: pip install 'deepfake-detector-toolkit[ray]'"))
        rows += memory_rows(Path(tmp), (1000, min(big, 5000) if settings.quick else big))
        rows.append(machinery_row(Path(tmp), 100_000 if settings.quick else 1_000_000))
    return rows
