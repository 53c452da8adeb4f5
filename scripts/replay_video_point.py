"""Replay a video threshold and band chosen on validation clips on other clips, from their scores alone.

    python scripts/replay_video_point.py VALID/predictions.csv [TEST/predictions.csv ...] [--policy fpr:0.02]
        [--band 0.99] [--photo-point MODEL]

Each CSV is an ``evaluate --data VIDEOS`` output (one row per clip: path, label, p_fake). The threshold and band
are chosen on the first exactly as ``evaluate --set-video-threshold`` chooses them (``choose_threshold``,
``choose_band``), then every CSV is judged by them, without storing anything or scoring a clip again: what a
video point would give before it is stored in a model (docs/face-swaps.md, "A wider shot"). A CSV of a pooled
set (``scripts/pool_video_sets.py``) is also judged set by set. ``--photo-point MODEL`` judges every set at that
model's photo threshold and band too, as videos are judged while no video threshold is stored.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from deepfake_detector.evaluation.thresholds import choose_threshold
from deepfake_detector.evaluation.uncertainty import UncertainBand, choose_band, stored_band
from deepfake_detector.models.bundled import BUNDLED, bundled_model_dir, read_meta

Clips = tuple[np.ndarray, np.ndarray]  # is-fake, P(fake)


def labels_and_scores(path: str) -> Clips:
    return by_set(path)["all"]


def by_set(path: str) -> dict[str, Clips]:
    """The clips of a predictions.csv ("all"), and per pooled set (the folder below ``real/`` or ``fake/``)."""
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["p_fake"]]
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        *_, class_dir, folder, _ = ("", "", *Path(r["path"]).parts)
        if class_dir == r["label"]:  # real/<set>/clip.mp4
            groups[folder].append(r)
    sets = {"all": rows, **(groups if len(groups) > 1 else {})}
    return {name: (np.array([r["label"] == "fake" for r in clips]), np.array([float(r["p_fake"]) for r in clips]))
            for name, clips in sets.items()}


def judged(fake: np.ndarray, p_fake: np.ndarray, band: UncertainBand) -> dict[str, float | int]:
    """Real clips flagged, swaps caught, the uncertain share and how often the verdicts outside the band are right."""
    called_fake, uncertain = p_fake >= band.high, (p_fake >= band.low) & (p_fake < band.high)
    right = (called_fake & fake) | (~called_fake & ~uncertain & ~fake)
    return {"real_flagged": int(called_fake[~fake].sum()), "n_real": int((~fake).sum()),
            "fakes_caught": float(called_fake[fake].mean()) if fake.any() else float("nan"),
            "uncertain": float(uncertain.mean()), "confident_right": float(right.sum() / max(1, (~uncertain).sum()))}


def at_threshold(fake: np.ndarray, p_fake: np.ndarray, threshold: float) -> dict[str, float | int | None]:
    """The threshold alone, as ``evaluate`` reports it beside the band: ROC-AUC, TPR, FPR and the four counts."""
    called = p_fake >= threshold
    return {"roc_auc": float(roc_auc_score(fake, p_fake)) if 0 < fake.sum() < len(fake) else None,
            "tpr": float(called[fake].mean()) if fake.any() else float("nan"),
            "fpr": float(called[~fake].mean()) if (~fake).any() else float("nan"),
            "tp": int((called & fake).sum()), "tn": int((~called & ~fake).sum()),
            "fp": int((called & ~fake).sum()), "fn": int((~called & fake).sum())}


def photo_point(model: str) -> tuple[float, UncertainBand]:
    """A model's photo threshold and band (no band: an empty one at the threshold)."""
    meta = read_meta(bundled_model_dir(model) if model in BUNDLED else model)
    empty = UncertainBand(low=meta.threshold, high=meta.threshold, policy="none", share=0, confident_accuracy=1, n=0)
    return meta.threshold, stored_band(meta) or empty


def line(name: str, r: dict[str, float | int], t: dict[str, float | int | None]) -> str:
    auc = "-" if t["roc_auc"] is None else f"{t['roc_auc']:.4f}"
    return (f"  {name}: {r['real_flagged']} of {r['n_real']} real flagged, fakes caught {r['fakes_caught']:.3f}, "
            f"uncertain {r['uncertain']:.3f}, confident right {r['confident_right']:.3f} | ROC-AUC {auc}, "
            f"threshold alone TPR {t['tpr']:.3f} FPR {t['fpr']:.3f} "
            f"(TP/TN/FP/FN {t['tp']}/{t['tn']}/{t['fp']}/{t['fn']})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("valid")
    parser.add_argument("others", nargs="*", metavar="test")
    parser.add_argument("--policy", default="fpr:0.02", help="threshold policy (default: the default model's)")
    parser.add_argument("--band", type=float, default=0.99, help="band target accuracy (default 0.99)")
    parser.add_argument("--photo-point", metavar="MODEL", help="also judge at this model's photo threshold and band")
    args = parser.parse_args(argv)
    fake, p_fake = labels_and_scores(args.valid)
    threshold = choose_threshold(fake.astype(int), p_fake, args.policy).threshold
    points = {f"video point ({args.policy}, band {args.band})":
              (threshold, choose_band(fake.astype(int), p_fake, threshold, args.band))}
    if args.photo_point:
        points[f"photo point of {args.photo_point}"] = photo_point(args.photo_point)
    for title, (threshold, band) in points.items():
        print(f"{title}: threshold {threshold:.4f}, band {band.low:.4f}-{band.high:.4f}")
        for role, path in (("valid", args.valid), *(("other", p) for p in args.others)):
            for name, clips in by_set(path).items():
                print(line(f"{role} {path}" if name == "all" else f"    {name}", judged(*clips, band),
                           at_threshold(*clips, threshold)))


if __name__ == "__main__":
    main()
