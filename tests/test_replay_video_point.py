"""``scripts/replay_video_point.py``: a video point chosen on validation scores, judged on test scores."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from deepfake_detector.evaluation.uncertainty import UncertainBand

from .conftest import scripts_imported


@pytest.fixture(scope="module")
def replay():
    for (module,) in scripts_imported("replay_video_point"):
        yield module


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


def _write_predictions(path: Path, rows: list[tuple[str, str, str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerows([["path", "label", "p_fake"], *rows])


def test_a_pooled_set_is_also_judged_set_by_set(replay, tmp_path: Path) -> None:
    path = tmp_path / "predictions.csv"
    _write_predictions(path, [("/pool/real/gen/a.mp4", "real", "0.1"), ("/pool/fake/gen/b.mp4", "fake", "0.9"),
                              ("/pool/real/wide/a.mp4", "real", "0.7"), ("/pool/fake/wide/c.mp4", "fake", "0.8")])
    sets = replay.by_set(str(path))
    assert sorted(sets) == ["all", "gen", "wide"]
    assert sets["gen"][1].tolist() == [0.1, 0.9] and sets["wide"][0].tolist() == [False, True]
    assert len(sets["all"][1]) == 4
    plain = tmp_path / "plain.csv"  # one set: no breakdown
    _write_predictions(plain, [("/set/real/a.mp4", "real", "0.1"), ("/set/fake/b.mp4", "fake", "0.9")])
    assert list(replay.by_set(str(plain))) == ["all"]


def test_the_photo_point_is_the_models_own(replay) -> None:
    from deepfake_detector.models.bundled import bundled_model_dir, read_meta

    meta = read_meta(bundled_model_dir("default"))
    threshold, band = replay.photo_point("default")
    assert threshold == meta.threshold and (band.low, band.high) == (meta.uncertain.low, meta.uncertain.high)


def test_the_threshold_alone_counts_as_evaluate_does(replay) -> None:
    fake = np.array([False, False, True, True])
    t = replay.at_threshold(fake, np.array([0.2, 0.8, 0.7, 0.9]), 0.75)
    assert (t["tp"], t["tn"], t["fp"], t["fn"]) == (1, 1, 1, 1) and t["tpr"] == t["fpr"] == 0.5
    assert t["roc_auc"] == pytest.approx(0.75)  # 3 of the 4 real/fake pairs ranked right
    assert replay.at_threshold(fake[:2], np.array([0.2, 0.8]), 0.5)["roc_auc"] is None  # one class: no ranking
