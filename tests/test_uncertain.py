"""The "uncertain" verdict: a band in model.json around known scores of real 140k images, and every output
(Python API, CLI CSV/JSON, server JSON, scan's Parquet, videos) calls the images inside it "uncertain" and
the others as the threshold alone does; a model without a band answers exactly as before."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from deepfake_detector import Detector
from deepfake_detector.cli import main
from deepfake_detector.errors import ModelLoadError
from deepfake_detector.inference.verdict import Band, VerdictRule
from deepfake_detector.inference.video import VideoOptions
from deepfake_detector.models.bundled import bundled_model_dir
from deepfake_detector.scan import scan
from deepfake_detector.serve import Service, create_app

from .conftest import DATA_140K
from .video_clips import faces, write_clip

VALID = DATA_140K / "real_vs_fake" / "real-vs-fake" / "valid"
FILES = [str(p) for label in ("real", "fake") for p in sorted((VALID / label).glob("*.jpg"))[:6]]


def _copy_fast(folder: Path, **extra) -> Path:
    model = Path(shutil.copytree(bundled_model_dir("fast"), folder))
    meta = json.loads((model / "model.json").read_text())
    meta = {k: v for k, v in meta.items() if k not in ("uncertain", "video_uncertain")} | extra
    (model / "model.json").write_text(json.dumps(meta))
    return model


@pytest.fixture(scope="module")
def banded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The fast model with no band and a threshold between the 6th and 7th of its scores on 12 valid images,
    its scores and labels there, and a copy whose band holds exactly the two scores next to its threshold (the
    highest one below it and the lowest one above it)."""
    root = tmp_path_factory.mktemp("uncertain")
    ranked = sorted(p.p_fake for p in Detector.load(_copy_fast(root / "stored"), device="cpu").predict(
        FILES, faces="off"))
    threshold = (ranked[5] + ranked[6]) / 2  # the bundled point may put every one of these photos on one side
    plain = _copy_fast(root / "plain", threshold=threshold)
    detector = Detector.load(plain, device="cpu")
    before = detector.predict(FILES, faces="off")
    assert detector.threshold == threshold
    scores = {p.path: p.p_fake for p in before}
    below = sorted(s for s in scores.values() if s < threshold)
    above = sorted(s for s in scores.values() if s >= threshold)
    assert len(below) >= 2 and len(above) >= 2, "needs two images on each side of the threshold"
    band = Band((below[-2] + below[-1]) / 2, (above[0] + above[1]) / 2)
    inside = {path for path, s in scores.items() if s in (below[-1], above[0])}
    model = _copy_fast(root / "banded", threshold=threshold,
                       uncertain={**band.to_dict(), "policy": "accuracy:0.98"})
    return {"plain": plain, "model": model, "band": band, "threshold": threshold, "scores": scores,
            "labels": {p.path: p.label for p in before}, "inside": inside}


def _expected(banded: dict) -> dict[str, str]:
    """Inside the band "uncertain"; outside it the label the model gave without a band."""
    return {path: "uncertain" if path in banded["inside"] else label for path, label in banded["labels"].items()}


def test_a_model_without_a_band_answers_real_or_fake_by_its_threshold(banded: dict) -> None:
    detector = Detector.load(banded["plain"], device="cpu")
    assert detector.uncertain_band is None and detector.verdict == VerdictRule(banded["threshold"])
    assert {path: "fake" if s >= banded["threshold"] else "real" for path, s in banded["scores"].items()} == \
        banded["labels"]


def test_python_api_calls_the_images_inside_the_band_uncertain(banded: dict) -> None:
    detector = Detector.load(banded["model"], device="cpu")
    assert detector.uncertain_band == banded["band"] and detector.threshold == banded["threshold"]
    predictions = detector.predict(FILES, faces="off")
    assert {p.path: p.p_fake for p in predictions} == pytest.approx(banded["scores"])  # verdicts change, not scores
    assert {p.path: p.label for p in predictions} == _expected(banded)
    assert {p.label for p in predictions} == {"real", "fake", "uncertain"}


def test_each_face_gets_its_own_verdict(banded: dict) -> None:
    detector = Detector.load(banded["model"], device="cpu")
    (photo,) = detector.predict(FILES[:1], faces="auto")
    assert photo.faces, "the 140k photos are face crops: MTCNN finds the face"
    face = photo.faces[0]
    assert face["label"] == detector.label_for(face["p_fake"]) and photo.label == detector.label_for(photo.p_fake)
    # a band around this face's own score and the photo's (its framing may blend in the whole image) makes both
    # uncertain
    scores = (face["p_fake"], photo.p_fake)
    meta = detector.meta.updated({"threshold": face["p_fake"], "uncertain": {"low": min(scores) - 1e-3,
                                                                             "high": max(scores) + 1e-3}})
    detector.meta, detector.threshold = meta, face["p_fake"]
    (again,) = detector.predict(FILES[:1], faces="auto")
    assert again.faces[0]["label"] == again.label == "uncertain"


def test_cli_csv_json_and_summary_carry_uncertain(banded: dict, tmp_path: Path, capsys) -> None:
    expected = _expected(banded)
    for output in ("r.csv", "r.json"):
        assert main(["predict", *FILES, "--model", str(banded["model"]), "--faces", "off", "--backend", "torch",
                     "--quiet", "--output", str(tmp_path / output)]) == 0
    with (tmp_path / "r.csv").open() as fh:
        assert {r["path"]: r["label"] for r in csv.DictReader(fh)} == expected
    written = json.loads((tmp_path / "r.json").read_text())
    assert {r["path"]: r["label"] for r in written["predictions"]} == expected
    assert written["threshold"] == banded["threshold"] and written["uncertain"] == banded["band"].to_dict()
    counts = {v: list(expected.values()).count(v) for v in ("fake", "uncertain", "real")}
    assert (f"{len(FILES)} file(s): {counts['fake']} fake, {counts['uncertain']} uncertain, {counts['real']} real, "
            "0 unreadable") in capsys.readouterr().out


def test_cli_without_a_band_prints_and_writes_as_before(banded: dict, tmp_path: Path, capsys) -> None:
    assert main(["predict", *FILES, "--model", str(banded["plain"]), "--faces", "off", "--backend", "torch",
                 "--quiet", "--output", str(tmp_path / "r.json")]) == 0
    written = json.loads((tmp_path / "r.json").read_text())
    assert {r["path"]: r["label"] for r in written["predictions"]} == banded["labels"] and written["uncertain"] is None
    n_fake = list(banded["labels"].values()).count("fake")
    assert (f"{len(FILES)} file(s): {n_fake} fake, {len(FILES) - n_fake} real, 0 unreadable  "
            f"(threshold {banded['threshold']:.3f})") in capsys.readouterr().out


def test_html_report_shows_uncertain_in_amber_with_its_count(banded: dict, tmp_path: Path) -> None:
    assert main(["predict", *FILES, "--model", str(banded["model"]), "--faces", "off", "--backend", "torch",
                 "--quiet", "--report", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    n_inside = len(banded["inside"])
    assert f'<div class="card uncertain">uncertain<b>{n_inside}</b></div>' in page
    assert page.count('<span class="uncertain">uncertain</span>') == n_inside and ".uncertain{color:#b26a00" in page
    band = banded["band"]
    assert f"uncertain from {band.low:.4f} to {band.high:.4f}" in page


def test_server_json_has_the_label_and_the_band(banded: dict) -> None:
    client = TestClient(create_app(Service(Detector.load(banded["model"], device="cpu"))))
    health = client.get("/health").json()
    assert health["threshold"] == banded["threshold"] and health["uncertain"] == banded["band"].to_dict()
    for path, label in _expected(banded).items():
        r = client.post("/v1/predict?faces=off", files={"file": (Path(path).name, Path(path).read_bytes(),
                                                                  "image/jpeg")})
        j = r.json()
        assert r.status_code == 200 and j["uncertain"] == banded["band"].to_dict()
        # the server scores through the decoded-array pipeline: the same score within float error
        assert j["p_fake"] == pytest.approx(banded["scores"][path], abs=1e-5) and j["label"] == label
    assert "uncertain" in client.get("/").text  # the upload page styles and explains the verdict


def test_scan_parquet_labels_and_summary_count_uncertain(banded: dict, tmp_path: Path, capsys) -> None:
    out = scan(FILES, tmp_path / "results", banded["model"], faces="off", backend="torch",
               report=tmp_path / "results" / "_report.html")
    rows = pq.read_table(out).to_pylist()
    assert {r["path"]: r["label"] for r in rows} == _expected(banded)
    assert main(["scan", "--summary", str(out)]) == 0
    printed = capsys.readouterr().out
    n_inside = len(banded["inside"])
    assert f" {n_inside} uncertain, " in printed and f"uncertain from {banded['band'].low:.4f}" in printed
    summary = json.loads((out / "_summary.json").read_text())
    assert summary["uncertain"] == n_inside and summary["uncertain_band"] == banded["band"].to_dict()
    assert summary["fakes"] + summary["uncertain"] + summary["reals"] == len(FILES)
    assert f"<b>{n_inside}</b>uncertain" in (out / "_report.html").read_text()


@pytest.mark.parametrize(("band", "words"), [
    ({"low": 0.1}, "bad 'uncertain.high' (Field required)"),
    ({"low": 0.9, "high": 0.95}, "low <= threshold <= high"),
])
def test_a_bad_band_is_refused_at_load_naming_the_file(tmp_path: Path, band: dict, words: str) -> None:
    model = _copy_fast(tmp_path / "bad", uncertain=band)
    with pytest.raises(ModelLoadError, match="bad/model.json: ") as caught:
        Detector.load(model, device="cpu")
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_set_video_threshold_chooses_a_video_band_and_videos_use_it(banded: dict, tmp_path: Path) -> None:
    """3 real and 3 fake 4-frame clips of 140k test faces; the photo band's target (0.98) holds for videos too."""
    for label in ("real", "fake"):
        for i, image in enumerate(faces(label, 3)):
            write_clip(tmp_path / "videos" / label / f"{label}{i}.mp4", [image] * 4, fps=4)
    model = _copy_fast(tmp_path / "model", threshold=banded["threshold"],
                       uncertain={**banded["band"].to_dict(), "policy": "accuracy:0.98"})
    assert main(["evaluate", str(model), "--data", str(tmp_path / "videos"), "--set-video-threshold", "youden",
                 "--frames", "4", "--out", str(tmp_path / "valid"), "--quiet"]) == 0
    meta = json.loads((model / "model.json").read_text())
    stored = meta["video_uncertain"]
    assert stored["low"] <= meta["video_threshold"] <= stored["high"] and stored["policy"] == "accuracy:0.98"
    assert meta["uncertain"]["low"] == banded["band"].low  # the photo band is left as it was

    detector = Detector.load(model, device="cpu")
    videos = sorted(str(p) for p in (tmp_path / "videos").rglob("*.mp4"))
    predictions = detector.predict(videos, video=VideoOptions(frames=4))
    for p in predictions:
        assert p.video["uncertain"] == {"low": stored["low"], "high": stored["high"]}
        inside = stored["low"] <= p.p_fake < stored["high"]
        assert p.label == ("uncertain" if inside else "fake" if p.p_fake >= stored["high"] else "real")
    metrics = json.loads((tmp_path / "valid" / "metrics.json").read_text())
    share = sum(p.label == "uncertain" for p in predictions) / len(predictions)
    assert metrics["uncertain"]["uncertain_share"] == pytest.approx(share) == pytest.approx(
        stored["selection"]["share"])
    with (tmp_path / "valid" / "predictions.csv").open() as fh:
        assert sorted(r["predicted"] for r in csv.DictReader(fh)) == sorted(p.label for p in predictions)


def test_the_fast_models_uncertain_photos_point_to_the_default(banded: dict, tmp_path: Path, capsys) -> None:
    """The bundled fast model's band (held on processed reals) leaves some of these photos uncertain: the CLI says
    which model decides them; a model of one's own with a band gets no such advice."""
    hint = "'--model default' (slower) decides most of the rest"
    assert main(["predict", *FILES, "--model", "fast", "--faces", "off", "--quiet",
                 "--output", str(tmp_path / "fast.json")]) == 0
    labels = [r["label"] for r in json.loads((tmp_path / "fast.json").read_text())["predictions"]]
    assert "uncertain" in labels and hint in capsys.readouterr().out
    assert main(["predict", *FILES, "--model", str(banded["model"]), "--faces", "off", "--quiet"]) == 0
    assert hint not in capsys.readouterr().out
