"""Replay a video threshold and band chosen on validation clips on test clips, from their scores alone.

    python scripts/replay_video_point.py VALID/predictions.csv TEST/predictions.csv [--policy fpr:0.02] [--band 0.99]

Both CSVs are ``evaluate --data VIDEOS`` outputs (one row per clip: label, p_fake). The threshold and band are
chosen on the first exactly as ``evaluate --set-video-threshold`` chooses them (``choose_threshold``,
``choose_band``), then both sets are judged by them, without storing anything or scoring a clip again: what a
video point would give before it is stored in a model (docs/face-swaps.md, "A wider shot").
"""

from __future__ import annotations

import argparse
import csv

import numpy as np

from deepfake_detector.evaluation.thresholds import choose_threshold
from deepfake_detector.evaluation.uncertainty import UncertainBand, choose_band


def labels_and_scores(path: str) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["p_fake"]]
    return np.array([r["label"] == "fake" for r in rows]), np.array([float(r["p_fake"]) for r in rows])


def judged(fake: np.ndarray, p_fake: np.ndarray, band: UncertainBand) -> dict[str, float | int]:
    """Real clips flagged, swaps caught, the uncertain share and how often the verdicts outside the band are right."""
    called_fake, uncertain = p_fake >= band.high, (p_fake >= band.low) & (p_fake < band.high)
    right = (called_fake & fake) | (~called_fake & ~uncertain & ~fake)
    return {"real_flagged": int(called_fake[~fake].sum()), "n_real": int((~fake).sum()),
            "fakes_caught": float(called_fake[fake].mean()), "uncertain": float(uncertain.mean()),
            "confident_right": float(right.sum() / max(1, (~uncertain).sum()))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("valid")
    parser.add_argument("test")
    parser.add_argument("--policy", default="fpr:0.02", help="threshold policy (default: the default model's)")
    parser.add_argument("--band", type=float, default=0.99, help="band target accuracy (default 0.99)")
    args = parser.parse_args(argv)
    fake, p_fake = labels_and_scores(args.valid)
    threshold = choose_threshold(fake.astype(int), p_fake, args.policy).threshold
    band = choose_band(fake.astype(int), p_fake, threshold, args.band)
    print(f"threshold {threshold:.4f} ({args.policy}), band {band.low:.4f}-{band.high:.4f}")
    for name, path in (("valid", args.valid), ("test", args.test)):
        r = judged(*labels_and_scores(path), band)
        print(f"{name}: {r['real_flagged']} of {r['n_real']} real flagged, fakes caught {r['fakes_caught']:.3f}, "
              f"uncertain {r['uncertain']:.3f}, confident right {r['confident_right']:.3f}")


if __name__ == "__main__":
    main()
