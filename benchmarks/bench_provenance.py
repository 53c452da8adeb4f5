"""What reading provenance costs per image, alone (no model): C2PA, PNG text, EXIF and XMP of N files.

    .venv/bin/python benchmarks/bench_provenance.py [FOLDER] [--n 1000]

Reports ms per image (median of 3 passes over the same files, page cache warm), to set beside a model's
per-image time (docs/provenance.md).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from deepfake_detector.provenance.read import read_provenance

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/140k/real_vs_fake/real-vs-fake/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT))
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    files = sorted(Path(args.folder).rglob("*.jpg"))[: args.n]
    for f in files:  # warm the page cache: the model's pass has read the files too
        f.read_bytes()
    passes = []
    for _ in range(3):
        start = time.perf_counter()
        kinds = [read_provenance(f).kind for f in files]
        passes.append((time.perf_counter() - start) / len(files) * 1000)
    found = {k: kinds.count(k) for k in sorted(set(kinds))}
    print(f"{len(files)} files from {args.folder}: {statistics.median(passes):.3f} ms/img "
          f"(passes {', '.join(f'{p:.3f}' for p in passes)}); kinds {found}")


if __name__ == "__main__":
    main()
