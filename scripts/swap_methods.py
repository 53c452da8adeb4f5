"""ROC-AUC of a synthetic swap set's two halves apart: swaps pasted through a blurred mask, and Poisson-cloned ones.

``make_swap_set.py`` clones every second target; this replays its plan (same run, split, ``--n`` and ``--seed``)
to tell them apart in an ``evaluate`` run's predictions.csv, and scores each half against the same real photos
(ROC-AUC with a 95% class-stratified bootstrap interval; share caught at the model's threshold).

    python scripts/swap_methods.py RUN --split valid PREDICTIONS.csv [PREDICTIONS.csv ...] [--n N]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from make_swap_set import planned_targets, split_reals

from deepfake_detector.evaluation.bootstrap import resample_weights, threshold_free_cis
from deepfake_detector.evaluation.metrics import threshold_free_metrics


def method_scores(predictions: Path, cloned: dict[str, bool]) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Per method: labels, scores (the reals with that method's fakes) and the share of its fakes caught."""
    rows = list(csv.DictReader(predictions.open()))
    reals = [float(r["p_fake"]) for r in rows if r["label"] == "real"]
    out = {}
    for method, want in (("pasted", False), ("cloned", True)):
        fakes = [r for r in rows if r["label"] == "fake" and cloned.get(Path(r["path"]).stem) is want]
        scores = np.array(reals + [float(r["p_fake"]) for r in fakes])
        labels = np.array([0] * len(reals) + [1] * len(fakes))
        caught = float(np.mean([r["predicted"] == "fake" for r in fakes])) if fakes else float("nan")
        out[method] = (labels, scores, caught)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the run the swap set was made from (make_swap_set.py RUN)")
    parser.add_argument("predictions", type=Path, nargs="+", help="evaluate's predictions.csv of the swap set")
    parser.add_argument("--split", choices=["valid", "test"], required=True)
    parser.add_argument("--n", type=int, help="as given to make_swap_set.py")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    plan = planned_targets(split_reals(args.run, args.split), args.n, args.seed)
    cloned = {stem: seamless for _, stem, seamless in plan}
    for path in args.predictions:
        if not path.is_file():
            print(f"error: {path}: no such predictions file", file=sys.stderr)
            return 2
        parts = []
        for method, (labels, scores, caught) in method_scores(path, cloned).items():
            if labels.sum() == 0:
                parts.append(f"{method}: no fakes")
                continue
            auc = threshold_free_metrics(labels, scores, np.ones((1, len(labels))))["roc_auc"][0]
            low, high = threshold_free_cis(labels, scores, resample_weights(labels))["roc_auc"]
            parts.append(f"{method} ({int(labels.sum())}): ROC-AUC {float(auc):.3f} [{low:.3f}, {high:.3f}], "
                         f"{caught:.1%} caught")
        print(f"{path}: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
