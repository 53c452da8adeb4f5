"""``scripts/heldout_reals_auc.py``: a folder's ROC-AUC with and without the real photos a run trained on."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_reals_a_run_trained_on_are_left_out_of_the_second_figure(tmp_path) -> None:
    """Two trained-on reals score low (easy), the held-out real scores between the fakes: with them 5 of 6 pairs
    are ordered, without them 1 of 2."""
    run = tmp_path / "run"
    run.mkdir()
    with (run / "splits.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "source", "split"])
        writer.writerows([[str(tmp_path / f"r{i}.jpg"), "real", "s", "train"] for i in (0, 1)])
        writer.writerow([str(tmp_path / "r2.jpg"), "real", "s", "test"])
    predictions = tmp_path / "predictions.csv"
    with predictions.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "p_fake", "predicted"])
        scores = [("r0", "real", 0.1), ("r1", "real", 0.2), ("r2", "real", 0.6), ("f0", "fake", 0.5),
                  ("f1", "fake", 0.9)]
        writer.writerows([str(tmp_path / f"{name}.jpg"), label, p, "real"] for name, label, p in scores)
    out = subprocess.run([sys.executable, "scripts/heldout_reals_auc.py", str(run), str(predictions)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    assert "all reals: ROC-AUC 0.833 (3 reals)" in out
    assert "reals it did not train on: ROC-AUC 0.500 (1 reals)" in out
