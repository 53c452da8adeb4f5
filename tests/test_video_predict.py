"""Videos through the one prediction pipeline, on clips made of real shared faces: scores, tracks, timelines,
the CLI with its report, the server, and bad videos in a folder run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from deepfake_detector.cli import main
from deepfake_detector.inference.loading import load_predictor
from deepfake_detector.inference.video import VideoOptions, confident_mean

from .conftest import DATA_140K
from .video_clips import faces, write_clip

assert DATA_140K  # real faces from the shared data (the tests skip without it)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real clip, a fake clip (one person-position, a different face each frame) and a real -> fake cut."""
    folder = tmp_path_factory.mktemp("clips")
    return {"real": write_clip(folder / "real.mp4", faces("real", 24), fps=8),
            "fake": write_clip(folder / "fake.mp4", faces("fake", 24), fps=8),
            "cut": write_clip(folder / "cut.mp4", faces("real", 16, skip=24) + faces("fake", 16, skip=24), fps=8)}


@pytest.fixture(scope="module")
def fast():
    return load_predictor("fast")


def test_fake_clip_scores_above_the_real_one_and_faces_form_one_track(fast, clips) -> None:
    real, fake = fast.predict([clips["real"], clips["fake"]], video=VideoOptions(frames=16))
    for p in (real, fake):
        assert p.error is None and len(p.video["frames"]) == 16
        longest = max(p.video["tracks"], key=lambda t: len(t["frames"]))
        assert len(longest["frames"]) >= 14  # the aligned faces sit in one place: one track through the clip
    assert fake.p_fake > real.p_fake + 0.2
    # the fast model's video band may call either uncertain, never the opposite verdict
    assert real.label in ("real", "uncertain") and fake.label in ("fake", "uncertain")


def test_the_cut_clips_timeline_rises_where_the_fakes_start(fast, clips) -> None:
    [cut] = fast.predict([clips["cut"]], video=VideoOptions(frames=32))
    frames = cut.video["frames"]
    times = np.array([f["time"] for f in frames])
    scores = np.array([f["p_fake"] for f in frames])
    cut_at = 16 / 8  # the first fake frame, in seconds
    assert scores[times >= cut_at].mean() > scores[times < cut_at].mean() + 0.2
    assert cut.video["aggregate"] == "track-mean" and cut.video["threshold_from"] == "video validation"


def test_fps_sampling_and_whole_frames_without_face_search(fast, clips) -> None:
    [p] = fast.predict([clips["fake"]], faces="off", video=VideoOptions(fps=2))
    assert [f["time"] for f in p.video["frames"]] == pytest.approx([0, 0.5, 1.0, 1.5, 2.0, 2.5], abs=0.07)
    assert p.video["tracks"] == [] and p.video["aggregate"] == "frame-mean"
    assert p.p_fake == pytest.approx(np.mean([f["p_fake"] for f in p.video["frames"]]), abs=1e-6)


def test_confident_rule() -> None:
    assert confident_mean(np.array([0.9] * 12 + [0.1] * 10)) == pytest.approx(0.9)  # 12 > 11 and > 22/2.5
    assert confident_mean(np.array([0.05] * 19 + [0.5])) == pytest.approx(0.05)  # 95% below 0.2
    assert confident_mean(np.array([0.9] * 5 + [0.1] * 5)) == pytest.approx(0.5)  # neither: the mean


def test_cli_mixes_videos_photos_and_bad_files_and_reports_a_timeline(clips, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "broken.mp4").write_bytes(clips["fake"].read_bytes()[:3000])  # truncated
    (folder / "renamed.jpg").write_bytes(clips["real"].read_bytes())  # a video by content
    photo = sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test" / "fake").glob("*.jpg"))[0]
    out, report = tmp_path / "out.json", tmp_path / "report.html"
    assert main(["predict", str(folder), str(clips["cut"]), str(photo), "--model", "fast", "--frames", "8",
                 "--output", str(out), "--report", str(report)]) == 0
    rows = {Path(r["path"]).name: r for r in json.loads(out.read_text())["predictions"]}
    assert rows["broken.mp4"]["p_fake"] is None and "broken.mp4" in rows["broken.mp4"]["error"]
    assert rows["renamed.jpg"]["video"]["sampling"]["frames"] == 8 and rows["renamed.jpg"]["error"] is None
    assert rows["cut.mp4"]["video"]["tracks"] and rows[photo.name]["video"] is None
    assert "1 unreadable" in capsys.readouterr().out
    page = report.read_text()
    assert len(re.findall(r'class="timeline" alt="P\(fake\) over time"', page)) == 2  # one per readable video
    assert 'class="crop"' in page


def test_server_scores_an_uploaded_video_and_refuses_a_long_one(clips) -> None:
    from deepfake_detector.inference.detector import Detector
    from deepfake_detector.serve import Service, create_app

    service = Service(Detector.load("fast", device="cpu"), max_video_seconds=2.5)
    client = TestClient(create_app(service))
    data = clips["fake"].read_bytes()  # 3 s
    refused = client.post("/v1/predict", files={"file": ("clip.mp4", data, "video/mp4")})
    assert refused.status_code == 422 and "clip.mp4: video is 3 s long" in refused.json()["error"]
    service.max_video_seconds = 10
    ok = client.post("/v1/predict", files={"file": ("clip.mp4", data, "application/octet-stream")})
    j = ok.json()
    assert ok.status_code == 200 and j["label"] in ("fake", "uncertain") and len(j["video"]["frames"]) == 24
    assert j["timeline_png"] and j["video"]["tracks"]
    broken = client.post("/v1/predict", files={"file": ("clip.webm", data[:2000], "video/webm")})
    assert broken.status_code == 400 and broken.json()["error"].startswith("clip.webm: ")
