"""``scripts/replay_video_point.py``: a video point chosen on validation scores, judged on test scores."""

from __future__ import annotations

import csv
import importlib
from pathlib import Path

import numpy as np
import pytest

from deepfake_detector.evaluation.uncertainty import UncertainBand

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def replay():
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(REPO / "scripts"))
        yield importlib.import_module("replay_video_point")


def test_a_known_band_judges_known_clips(replay) -> None:
    fake = np.array([False, False, False, True, True, True])
    p_fake = np.array([0.1, 0.5, 0.95, 0.6, 0.97, 0.99])
    band = UncertainBand(low=0.4, high=0.9, policy="accuracy:0.99", share=0, confident_accuracy=1, n=0)
    r = replay.judged(fake, p_fake, band)
    # 0.5 and 0.6 are uncertain; 0.95 is a real clip flagged; 0.97 and 0.99 are caught; 0.1 is passed
    assert r == {"real_flagged": 1, "n_real": 3, "fakes_caught": pytest.approx(2 / 3),
                 "uncertain": pytest.approx(2 / 6), "confident_right": pytest.approx(3 / 4)}


def test_the_csvs_are_read_as_evaluate_writes_them(replay, tmp_path: Path) -> None:
    path = tmp_path / "predictions.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerows([["path", "label", "p_fake"], ["a.mp4", "real", "0.2"], ["b.mp4", "fake", "0.9"],
                          ["broken.mp4", "fake", ""]])
    fake, p_fake = replay.labels_and_scores(str(path))
    assert fake.tolist() == [False, True] and p_fake.tolist() == [0.2, 0.9]  # an unreadable clip has no score
