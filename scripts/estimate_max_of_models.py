"""Estimate what a max-of-models detector would score, before building it, from two models' per-photo scores.

A photo's score under "the larger of two models' logits" is exact from the two models' own P(fake): each
model's logit is shifted so that its own threshold is 0 (the second's by ``offset`` more), and the maximum over
models commutes with the maximum over a photo's regions. One threshold is chosen again on validation by the
first model's policy kind (every real source's false-positive rate <= ``--fpr``), then applied to the test
split and to any extra sets. The chosen offset is the smallest that leaves the first model's validation
threshold as it was (so its generator and real-photo figures stay its own), decided on validation only.

    python scripts/estimate_max_of_models.py runs/clip-detector runs/blend-detector \\
        --valid A/eval-valid/predictions.csv B-valid.csv --test A/eval-test/predictions.csv B-test.csv \\
        --extra swaps A-swaps/predictions.csv B-swaps/predictions.csv

The first model's CSVs are ``evaluate`` predictions (true ``label`` column); the second's any CSV with ``path``
and ``p_fake`` (``predict --output``, or ``evaluate``). Sources come from the first run's ``splits.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score


def rows_of(path: str | Path) -> list[dict[str, str]]:
    """A CSV's rows, each ``path`` made absolute (lists may name one photo relative to different folders)."""
    with open(path, newline="") as f:
        return [{**row, "path": os.path.normpath(os.path.abspath(row["path"]))} for row in csv.DictReader(f)]


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def paired(first_csv: str, second_csv: str, sources: dict[str, str]) -> tuple[np.ndarray, ...]:
    """(P first, P second, is fake, source) of the photos both scored."""
    first = {r["path"]: r for r in rows_of(first_csv)}
    second = {r["path"]: r["p_fake"] for r in rows_of(second_csv)}
    paths = [p for p, r in first.items() if r["p_fake"] and second.get(p)]
    return (np.array([float(first[p]["p_fake"]) for p in paths]), np.array([float(second[p]) for p in paths]),
            np.array([first[p]["label"] == "fake" for p in paths]), np.array([sources.get(p, "set") for p in paths]))


def worst_source_threshold(score: np.ndarray, fake: np.ndarray, source: np.ndarray, fpr: float) -> float:
    return max(float(np.quantile(score[~fake & (source == s)], 1 - fpr, method="higher")) for s in set(source[~fake]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", type=Path)
    ap.add_argument("second", type=Path)
    ap.add_argument("--valid", nargs=2, required=True, metavar=("FIRST_CSV", "SECOND_CSV"))
    ap.add_argument("--test", nargs=2, required=True, metavar=("FIRST_CSV", "SECOND_CSV"))
    ap.add_argument("--extra", nargs=3, action="append", default=[], metavar=("NAME", "FIRST_CSV", "SECOND_CSV"))
    ap.add_argument("--offsets", nargs="+", type=float, default=[0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
    ap.add_argument("--fpr", type=float, default=0.02)
    args = ap.parse_args()
    t1, t2 = (json.loads((m / "model.json").read_text())["threshold"] for m in (args.first, args.second))
    sources = {r["path"]: r["source"] for r in rows_of(args.first / "splits.csv")}
    valid, test = paired(*args.valid, sources), paired(*args.test, sources)
    extras = {name: paired(a, b, sources) for name, a, b in args.extra}

    def combined(sets: tuple[np.ndarray, ...], offset: float | None) -> np.ndarray:
        first = logit(sets[0]) - logit(t1)
        return first if offset is None else np.maximum(first, logit(sets[1]) - logit(t2) - offset)

    alone = worst_source_threshold(combined(valid, None), valid[2], valid[3], args.fpr)
    chosen = next((o for o in args.offsets
                   if worst_source_threshold(combined(valid, o), valid[2], valid[3], args.fpr) <= alone), None)
    def by_source(sets: tuple[np.ndarray, ...], offset: float | None, t: float) -> list[str]:
        score, fake, source = combined(sets, offset), sets[2], sets[3]
        rows = [f"{s} {'caught' if f else 'flagged'} {(score[(fake == f) & (source == s)] > t).mean():.3f}"
                for f in (True, False) for s in sorted(set(source[fake == f]))]
        return rows + [f"{s} ROC-AUC {roc_auc_score(fake[source == s], score[source == s]):.4f}"
                       for s in sorted(set(source[fake]) & set(source[~fake]))]

    for offset in [None, *args.offsets]:
        t = worst_source_threshold(combined(valid, offset), valid[2], valid[3], args.fpr)
        rows = [f"validation: {row}" for row in by_source(valid, offset, t)] + by_source(test, offset, t)
        for name, (a, b, is_fake, _) in extras.items():
            s = combined((a, b), offset)
            rows.append(f"{name}: ROC-AUC {roc_auc_score(is_fake, s):.3f}, caught {(s[is_fake] > t).mean():.3f}, "
                        f"reals flagged {(s[~is_fake] > t).mean():.3f}")
        name = "first model alone" if offset is None else f"max, offset {offset:g}" + (
            " (chosen on validation)" if offset == chosen else "")
        print(f"{name}: validation threshold {t:+.3f}\n  " + "\n  ".join(rows))


if __name__ == "__main__":
    main()
