"""Does the spread of a clip's per-frame scores tell fake clips from real ones, beyond their mean?

    python scripts/frame_score_spread.py RUN/eval-clips-valid/frames.csv

Reads the per-frame P(fake) that ``deepfake-detector evaluate MODEL --data CLIPS`` writes (``frames.csv``) and
prints the per-clip ROC-AUC of each summary of a clip's frames: mean, min, max, standard deviation (of P(fake)
and of its logit). Temporal evidence is worth adding to the video verdict only if a spread ranks clips where the
mean does not (docs/face-swaps.md).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

SUMMARIES = {
    "mean": np.mean, "min": np.min, "max": np.max, "std": np.std,
    "logit std": lambda p: np.std(np.log(p / (1 - p))),
}


def clip_summaries(frames_csv: Path) -> tuple[list[int], dict[str, list[float]]]:
    """Each clip's label (fake = 1) and every summary of its frames' P(fake), clips in path order."""
    scores: dict[str, list[float]] = defaultdict(list)
    labels: dict[str, int] = {}
    with frames_csv.open(newline="") as fh:
        for row in csv.DictReader(fh):
            scores[row["path"]].append(float(row["p_fake"]))
            labels[row["path"]] = int(row["label"] == "fake")
    clips = sorted(scores)
    frames = [np.clip(np.array(scores[c]), 1e-6, 1 - 1e-6) for c in clips]
    return [labels[c] for c in clips], {name: [float(f(p)) for p in frames] for name, f in SUMMARIES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames", type=Path, help="frames.csv of a video evaluation")
    args = parser.parse_args(argv)
    labels, summaries = clip_summaries(args.frames)
    if len(set(labels)) < 2:
        raise SystemExit(f"{args.frames}: needs real and fake clips")
    print(f"{args.frames}: {len(labels)} clips ({sum(labels)} fake)")
    for name, values in summaries.items():
        print(f"  {name}: ROC-AUC {roc_auc_score(labels, values):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
