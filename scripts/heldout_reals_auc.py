"""ROC-AUC of a predictions file twice: with every real photo, and with only those a run did not train on.

    python scripts/heldout_reals_auc.py runs/clip-detector RUN/eval-cross/yonsei-photoshop/predictions.csv

``evaluate --data FOLDER`` scores a whole folder, so a folder whose real photos a model partly trained on (the
Yonsei set: its real photos are a training source) gives an optimistic figure; the second one leaves out the
photos listed in the run's ``splits.csv`` as training photos (docs/face-swaps.md).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from sklearn.metrics import roc_auc_score

from deepfake_detector.data.splits import SPLITS_FILE, read_splits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run (or model) folder with splits.csv: its training photos")
    parser.add_argument("predictions", type=Path, nargs="+", help="predictions.csv files of evaluate")
    args = parser.parse_args(argv)
    trained = {Path(s.path).resolve() for s in read_splits(args.run / SPLITS_FILE)["train"]}
    for path in args.predictions:
        rows = list(csv.DictReader(path.open()))
        held_out = [r for r in rows if r["label"] == "fake" or Path(r["path"]).resolve() not in trained]
        line = [str(path)]
        for name, part in (("all reals", rows), ("reals it did not train on", held_out)):
            labels = [r["label"] == "fake" for r in part]
            auc = roc_auc_score(labels, [float(r["p_fake"]) for r in part])
            line.append(f"{name}: ROC-AUC {auc:.3f} ({len(part) - sum(labels)} reals)")
        print("; ".join(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
