"""``scripts/frame_score_spread.py``: per-clip ROC-AUC of each summary of a clip's frame scores."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_each_summary_ranks_the_clips_by_its_own_statistic(tmp_path: Path) -> None:
    """Fakes score higher on average but flicker less: the mean ranks them first, the spread last."""
    clips = {"real-a": ("real", [0.1, 0.5, 0.1]), "real-b": ("real", [0.2, 0.6, 0.2]),
             "fake-a": ("fake", [0.8, 0.8, 0.8]), "fake-b": ("fake", [0.7, 0.75, 0.7])}
    frames = tmp_path / "frames.csv"
    with frames.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "frame", "time", "p_fake", "faces"])
        for path, (label, scores) in clips.items():
            writer.writerows([path, label, i, i / 8, p, 1] for i, p in enumerate(scores))
    out = subprocess.run([sys.executable, "scripts/frame_score_spread.py", str(frames)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    assert "4 clips (2 fake)" in out
    assert "  mean: ROC-AUC 1.000" in out and "  std: ROC-AUC 0.000" in out
    assert "  min: ROC-AUC 1.000" in out and "  max: ROC-AUC 1.000" in out
