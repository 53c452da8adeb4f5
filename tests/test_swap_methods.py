"""``scripts/swap_methods.py``: a synthetic swap set's pasted and Poisson-cloned halves scored apart."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_halves_follow_make_swap_sets_plan(tmp_path) -> None:
    """Every second target of the plan is cloned: with the pasted fakes above every real and the cloned ones
    below, the pasted half ranks perfectly and the cloned half not at all."""
    reals = [f"/photos/a{i}.jpg" for i in range(4)]
    run = tmp_path / "run"
    run.mkdir()
    with (run / "splits.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "source", "split"])
        writer.writerows([p, "real", "s", "valid"] for p in reals)
        writer.writerow(["/photos/t.jpg", "real", "s", "train"])  # another split: not a target
    rows = [(f"real/s-a{i}.jpg", "real", score, "real") for i, score in enumerate([0.3, 0.4, 0.5, 0.6])]
    # targets a0, a2 pasted, a1, a3 cloned
    rows += [("fake/s-a0.jpg", "fake", 0.9, "fake"), ("fake/s-a2.jpg", "fake", 0.95, "fake"),
             ("fake/s-a1.jpg", "fake", 0.1, "real"), ("fake/s-a3.jpg", "fake", 0.2, "real")]
    predictions = tmp_path / "predictions.csv"
    with predictions.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "p_fake", "predicted"])
        writer.writerows(rows)
    out = subprocess.run([sys.executable, "scripts/swap_methods.py", str(run), "--split", "valid", str(predictions)],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "pasted (2): ROC-AUC 1.000 [1.000, 1.000], 100.0% caught;" in out
    assert "cloned (2): ROC-AUC 0.000 [0.000, 0.000], 0.0% caught" in out
