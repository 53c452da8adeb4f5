"""Evaluating on a folder of videos (clips of real 140k faces) and choosing the video threshold on one."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from deepfake_detector.cli import main
from deepfake_detector.evaluation.summary import summarize
from deepfake_detector.evaluation.video import evaluate_videos, holds_videos
from deepfake_detector.inference.loading import load_predictor
from deepfake_detector.inference.video import VideoOptions
from deepfake_detector.models.bundled import bundled_model_dir

from .conftest import DATA_140K  # noqa: F401  (naming it makes conftest skip these tests without the shared photos)
from .video_clips import faces, write_clip

FRAMES = 4  # every frame of the 4-frame clips: quick, and the sampling is exact
OPTIONS = VideoOptions(frames=FRAMES)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 real and 3 fake clips, each one face photo held for 4 frames, and a corrupt clip among the fakes."""
    root = tmp_path_factory.mktemp("videos")
    for label in ("real", "fake"):
        for i, image in enumerate(faces(label, 3)):
            write_clip(root / label / f"{label}{i}.mp4", [image] * FRAMES, fps=4)
    (root / "fake" / "broken.mp4").write_bytes((root / "real" / "real0.mp4").read_bytes()[:2000])
    return root


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_evaluate_reports_both_levels_with_intervals(videos: Path, tmp_path: Path) -> None:
    assert holds_videos(videos)
    result = evaluate_videos("fast", videos, tmp_path / "eval", OPTIONS, progress=False)
    m, frames = result.metrics, result.metrics["frame_level"]
    assert (m["n"], m["n_real"], m["n_fake"], frames["n"]) == (6, 3, 3, 6 * FRAMES)
    for level in (m, frames):
        low, high = level["ci95"]["roc_auc"]
        assert 0 <= low <= level["roc_auc"] <= high <= 1
    assert frames["bootstrap"]["resampled"] == "clusters"
    assert m["fpr"] == pytest.approx(1 - m["specificity"]) and m["ci95"]["fpr"] is not None
    assert m["sampling"]["frames"] == FRAMES and m["threshold_from"] == "video validation"  # the bundled one
    assert m["inference_engine"].startswith("torch-")  # fp32 PyTorch as for photos, whatever the CPU computes
    out = result.out_dir
    with (out / "predictions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and {r["frames"] for r in rows} == {str(FRAMES)} and {r["tracks"] for r in rows} == {"1"}
    assert {r["predicted"] for r in rows} <= {"real", "fake", "uncertain"}  # the bundled model has a video band
    assert len((out / "frames.csv").read_text().splitlines()) == 1 + 6 * FRAMES
    report = (out / "report.html").read_text()
    assert "Video level and frame level" in report and (out / "roc.png").is_file()
    # the corrupt clip is skipped and listed, with its one-line reason; the run went on
    with (out / "bad_files.csv").open() as fh:
        (bad,) = list(csv.DictReader(fh))
    assert bad["path"].endswith("broken.mp4") and "broken.mp4" in bad["reason"] and "\n" not in bad["reason"]
    assert result.bad_files[0].path == bad["path"] and "broken.mp4" in report


def test_set_video_threshold_stores_it_in_a_copy_and_predict_uses_it(videos: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    bundled = bundled_model_dir("fast")
    before = _sha(bundled / "model.json")
    model = Path(shutil.copytree(bundled, tmp_path / "fast-copy"))
    meta = json.loads((model / "model.json").read_text())
    for key in ("video_threshold", "video_threshold_selection"):  # as an uncalibrated model: the run must write it
        meta.pop(key, None)
    (model / "model.json").write_text(json.dumps(meta))
    weights = _sha(model / "model.safetensors")
    assert main(["evaluate", str(model), "--data", str(videos), "--set-video-threshold", "youden",
                 "--frames", str(FRAMES), "--out", str(tmp_path / "valid"), "--quiet"]) == 0
    assert "validation figures, not a test result" in capsys.readouterr().out
    meta = json.loads((model / "model.json").read_text())
    selection = meta["video_threshold_selection"]
    assert 0 < meta["video_threshold"] < 1 and meta["threshold"] == json.loads((bundled / "model.json").read_text())[
        "threshold"]
    assert (selection["n"], selection["policy"], selection["frames"], selection["aggregate"]) == (
        6, "youden", FRAMES, "track-mean")
    assert selection["val_tpr"] is not None and selection["val_fpr"] is not None
    assert _sha(model / "model.safetensors") == weights and _sha(bundled / "model.json") == before
    (prediction,) = load_predictor(model).predict([videos / "fake" / "fake0.mp4"], video=OPTIONS)
    assert prediction.video["threshold_from"] == "video validation"
    assert prediction.video["threshold"] == meta["video_threshold"]


def test_set_video_threshold_needs_a_video_folder(tiny_dataset: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["evaluate", "fast", "--data", str(tiny_dataset), "--set-video-threshold"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --set-video-threshold needs a --data folder of videos (real/, fake/)")


def test_frame_intervals_resample_whole_videos() -> None:
    """Frames that repeat their video's score exactly carry no more evidence than the videos: same intervals."""
    rng = np.random.default_rng(0)
    y, p = np.repeat([0, 1], 20), np.clip(rng.normal(np.repeat([0.4, 0.6], 20), 0.2), 0, 1)
    videos, frames = summarize(y, p), summarize(np.repeat(y, 8), np.repeat(p, 8), clusters=np.repeat(np.arange(40), 8))
    assert frames["roc_auc"] == pytest.approx(videos["roc_auc"])
    assert frames["ci95"]["roc_auc"] == pytest.approx(videos["ci95"]["roc_auc"])
    naive = summarize(np.repeat(y, 8), np.repeat(p, 8))["ci95"]["roc_auc"]
    assert naive[1] - naive[0] < 0.6 * (videos["ci95"]["roc_auc"][1] - videos["ci95"]["roc_auc"][0])
