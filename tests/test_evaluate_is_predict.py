"""`evaluate` scores photos through the prediction pipeline: its figures are what `predict` gives the same photos.

Run with the bundled default model (what users get), on real photos of several sources and sizes, faces on
and off; the feature cache must give the same scores without running the encoder again.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from deepfake_detector.models.ensemble import MaxOfModels

from .conftest import CROSS, DATA_140K, ORIGINALS


def _labelled_folder(root: Path) -> list[Path]:
    """real/ and fake/ of links to shared photos (never copies): 256 px 140k, UTKFace, SDXL tiles, 1024 px."""
    test = DATA_140K / "real_vs_fake" / "real-vs-fake" / "test"
    picks = {"real": [sorted((test / "real").glob("*.jpg"))[0], sorted((CROSS / "utkface" / "real").rglob("*.jpg"))[0],
                      sorted((ORIGINALS / "real").iterdir())[0]],
             "fake": [sorted((test / "fake").glob("*.jpg"))[0],
                      sorted((CROSS / "sfhq-t2i-sdxl" / "fake").rglob("*.jpg"))[0]]}
    files = []
    for label, sources in picks.items():
        (root / label).mkdir(parents=True)
        for i, source in enumerate(sources):
            link = root / label / f"{i}-{source.name}"
            link.symlink_to(source.resolve())
            files.append(link)
    return files


def _scores(folder: Path) -> dict[str, float]:
    with open(folder / "predictions.csv", newline="") as fh:
        return {Path(row["path"]).name: float(row["p_fake"]) for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def default_detector():
    from deepfake_detector import Detector

    detector = Detector.load("default", device="cpu", backend="torch")
    if detector.model_id.startswith("fast"):
        pytest.skip("the default model's CLIP encoder is not installed (make weights)")
    return detector


@pytest.mark.parametrize("faces", ["auto", "off"])
def test_evaluate_scores_are_predict_scores(default_detector, faces: str, tmp_path: Path, monkeypatch) -> None:
    import json

    from deepfake_detector.evaluation import evaluate
    from deepfake_detector.inference import feature_cache

    monkeypatch.setattr(feature_cache, "cache_dir", lambda: tmp_path / "cache")
    files = _labelled_folder(tmp_path / "set")
    result = evaluate(default_detector, tmp_path / "set", out_dir=tmp_path / "eval", faces=faces, progress=False)
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["faces"] == faces
    evaluated = _scores(result.out_dir)
    predicted = {Path(p.path).name: p.p_fake for p in default_detector.predict(files, faces=faces, provenance=False)}
    assert evaluated.keys() == predicted.keys() and len(evaluated) == 5
    assert max(abs(evaluated[k] - predicted[k]) for k in evaluated) <= 1e-4

    # Again: every encoder feature now comes from the cache, and the scores do not move.
    calls = []
    model = default_detector.model  # the default combines the CLIP detector (cached encoder) with a small CNN
    backbone = (model.members[0] if isinstance(model, MaxOfModels) else model).backbone
    monkeypatch.setattr(backbone, "forward", lambda x: calls.append(len(x)) or type(backbone).forward(backbone, x))
    again = evaluate(default_detector, tmp_path / "set", out_dir=tmp_path / "again", faces=faces, progress=False)
    assert calls == []
    assert _scores(again.out_dir) == evaluated
    assert default_detector.runner is None  # the cache was used for evaluation only
