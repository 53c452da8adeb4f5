"""The validation photos that decide the bundled default's operating point, with the P(fake) they had when it was
chosen: a test (`tests/test_default_model.py`) scores them again, so an install that scores them otherwise (a
dependency moved, as once happened unnoticed) fails CI instead of shipping a threshold that no longer holds.

    deepfake-detector evaluate src/deepfake_detector/assets/default-model --data RUN/splits.csv --split valid \
        --out OUT
    python scripts/default_model_reference.py OUT/predictions.csv

Picks the real photos with the highest P(fake) (they set the threshold under ``fpr:...@worst-source``) and the fakes
nearest the threshold (they set the recall), and writes their paths relative to the shared data folder.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

from deepfake_detector.models.bundled import bundled_model_dir, read_meta

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DEEPFAKE_DETECTOR_SHARED", REPO.parent / "shared")) / "data"
REFERENCE = REPO / "tests" / "fixtures" / "default-model-reference.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions", type=Path, help="predictions.csv of evaluate on the validation split")
    parser.add_argument("--per-class", type=int, default=5, help="photos of each class (default 5)")
    parser.add_argument("--out", type=Path, default=REFERENCE)
    args = parser.parse_args(argv)
    threshold = read_meta(bundled_model_dir()).threshold
    rows = list(csv.DictReader(args.predictions.open()))
    reals = sorted((r for r in rows if r["label"] == "real"), key=lambda r: -float(r["p_fake"]))
    fakes = sorted((r for r in rows if r["label"] == "fake"), key=lambda r: abs(float(r["p_fake"]) - threshold))
    chosen = reals[: args.per_class] + fakes[: args.per_class]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "p_fake"])
        for r in chosen:
            writer.writerow([Path(r["path"]).resolve().relative_to(SHARED_DATA.resolve()).as_posix(), r["label"],
                             r["p_fake"]])
    print(f"{len(chosen)} photos around threshold {threshold:.4f} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
