"""Screen, on cached features, whether one linear head per generator family generalises better than one head.

    python scripts/screen_branch_block.py extract train /work/exp/side/train   # the class-token cache it reads
    python scripts/screen_branch_block.py extract valid /work/exp/side/valid
    python scripts/screen_family_heads.py /work/exp/side --c 0.003

Leave-one-generator-out on the validation split: each fold drops one family's fakes from training and from the
threshold's choice, then reports how many of that family's validation fakes are caught. Two heads are compared,
each an L2-regularised logistic regression on the standardised class tokens of blocks 5-12 (the default's
CLIP member, bf16 cache), sources x classes balanced, a photo's logit the mean of its whole-image and face-crop
logits, the threshold chosen by the default's policy (`fpr:0.02@worst-source`, `choose_threshold`, as `calibrate`
does): **one head** on every fake (as the default's generator head, but solved), and **family heads**: one
head per family (GAN: 140k + thispersondoesnotexist; diffusion: SD 2.1 + SDXL) against every real photo, each
shifted to its own threshold by that policy, the larger counting, then the policy applied once more. A screen,
not a model: bf16 features, validation photos only, no temperature or band.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from deepfake_detector.evaluation.thresholds import choose_threshold

FAMILY = {"140k": "gan", "tpdne-sg2": "gan", "sdfd-sd21": "diffusion", "sfhq-t2i-sdxl": "diffusion"}
FOLDS = {"none": [], "sfhq-t2i-sdxl": ["sfhq-t2i-sdxl"], "sdfd-sd21": ["sdfd-sd21"],
         "stylegan": ["140k", "tpdne-sg2"]}
REALS = ("140k", "utkface", "yonsei-real")
POLICY = "fpr:0.02@worst-source"


class Split:
    """Class tokens, labels and sources of the cached views of one split."""

    def __init__(self, folder: Path, views: list[str]) -> None:
        cached = [np.load(folder / f"{view}.npz") for view in views]
        self.views = [d["cls"].astype(np.float64) for d in cached]
        self.labels = cached[0]["labels"].astype(int)
        self.sources = cached[0]["sources"]


def _threshold(logit: np.ndarray, valid: Split, rows: np.ndarray) -> float:
    """The default's policy (every real source's false-positive rate <= 2%) on the validation ``rows``."""
    return choose_threshold(valid.labels[rows], logit[rows], POLICY, valid.sources[rows]).threshold


def screen(folder: Path, c: float) -> None:
    train_views = ["clean", "faces"] + sorted(p.stem for p in (folder / "train").glob("*.npz")
                                              if p.stem.startswith(("process-", "history-")))
    train = Split(folder / "train", train_views)
    x = np.concatenate(train.views)
    y = np.tile(train.labels, len(train_views))
    source = np.tile(train.sources, len(train_views))
    valid = Split(folder / "valid", ["clean", "faces"])
    mean, scale = x.mean(0), x.std(0) + 1e-6
    x = (x - mean) / scale
    photos = [(v - mean) / scale for v in valid.views]

    def fit(rows: np.ndarray) -> np.ndarray:
        groups = list(zip(y[rows], source[rows], strict=True))
        counts = collections.Counter(groups)
        weights = np.array([1.0 / counts[g] for g in groups])
        head = LogisticRegression(C=c, max_iter=2000).fit(x[rows], y[rows], sample_weight=weights * len(rows) /
                                                           weights.sum())
        return sum(head.decision_function(p) for p in photos) / len(photos)

    print("| left out | head | left-out fakes caught | ROC-AUC (left out vs every real) | "
          + " | ".join(f"{s} caught" for s in FAMILY) + " | " + " | ".join(f"{s} reals flagged" for s in REALS) + " |")
    print("|---" * (4 + len(FAMILY) + len(REALS)) + "|")
    for fold, left in FOLDS.items():
        dropped = np.isin(source, left) & (y == 1)
        counted = ~(np.isin(valid.sources, left) & (valid.labels == 1))  # the fold's validation: no left-out fakes
        one = fit(np.flatnonzero(~dropped))
        shifted = []
        for family in ("gan", "diffusion"):
            fakes = np.array([FAMILY.get(s) == family for s in source]) & (y == 1) & ~dropped
            if fakes.any():
                logit = fit(np.flatnonzero((y == 0) | fakes))
                mine = np.array([FAMILY.get(s) == family for s in valid.sources]) & (valid.labels == 1)
                shifted.append(logit - _threshold(logit, valid, counted & ((valid.labels == 0) | mine)))
        for name, logit in (("one head", one), ("family heads, max", np.max(shifted, axis=0))):
            t = _threshold(logit, valid, counted)
            out, reals = ~counted, valid.labels == 0
            row = [fold, name, "n/a", "n/a"]
            if out.any():
                auc = roc_auc_score(np.r_[np.zeros(reals.sum()), np.ones(out.sum())], np.r_[logit[reals], logit[out]])
                row[2:] = [f"{(logit[out] >= t).mean():.3f}", f"{auc:.3f}"]
            row += [f"{(logit[(valid.sources == s) & (valid.labels == 1)] >= t).mean():.3f}" for s in FAMILY]
            row += [f"{(logit[(valid.sources == s) & (valid.labels == 0)] >= t).mean():.3f}" for s in REALS]
            print("| " + " | ".join(row) + " |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path,
                        help="the cache of scripts/screen_branch_block.py extract (train/, valid/)")
    parser.add_argument("--c", type=float, default=0.003, help="inverse L2 strength of every head (the default's)")
    args = parser.parse_args(argv)
    screen(args.folder, args.c)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
