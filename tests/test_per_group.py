"""Per-group tables from UTKFace-style file names (age band, gender, ethnicity), on the real UTKFace file names
of the shared set with known labels and scores; and the operating point chosen again for a saved model with
`deepfake-detector calibrate`, then `evaluate` reporting per source, per group and the uncertain band."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from deepfake_detector.cli import main
from deepfake_detector.data.samples import Sample
from deepfake_detector.data.splits import Splits, write_splits
from deepfake_detector.evaluation.per_group import Person, per_group_rows
from deepfake_detector.evaluation.scoring import Scored
from deepfake_detector.models.bundled import bundled_model_dir

from .conftest import CROSS, DATA_140K

UTKFACE = sorted((CROSS / "utkface" / "real").glob("*.jpg"))
SPLITS_140K = DATA_140K / "real_vs_fake" / "real-vs-fake"


def _attributes(path: Path) -> dict[str, str]:
    """What the UTKFace name says, read here independently of the module under test."""
    age, gender, race = (int(v) for v in path.name.split("_")[:3])
    band = next(f"{low}-{low + 14}" for low in (0, 15, 30, 45) if age <= low + 14) if age < 60 else "60+"
    return {"age": band, "gender": ("male", "female")[gender],
            "ethnicity": ("white", "black", "asian", "indian", "other")[race]}


def test_utkface_names_give_age_band_gender_and_ethnicity():
    assert len(UTKFACE) > 400
    for path in UTKFACE:
        person = Person.from_name(path)
        assert person is not None and vars(person) == _attributes(path), path.name
    assert Person.from_name(SPLITS_140K / "valid" / "real" / "00005.jpg") is None


def test_per_group_rows_on_known_labels_and_scores():
    # Known labels and scores: every third UTKFace file a "fake"; reals of women scored 0.9 (flagged at 0.5),
    # reals of men 0.1; fakes scored 0.8 except those of people 60 and over (0.2: missed). 140k images: no group.
    samples = [Sample(p, int(i % 3 == 0), "utkface") for i, p in enumerate(UTKFACE)]
    samples += [Sample(SPLITS_140K / "valid" / "real" / "00005.jpg", 0, "140k")]
    people = [_attributes(s.path) if s.source == "utkface" else None for s in samples]
    p = np.array([0.5 if person is None else (0.2 if person["age"] == "60+" else 0.8) if s.label else
                  (0.9 if person["gender"] == "female" else 0.1) for s, person in zip(samples, people, strict=True)])
    y = np.array([s.label for s in samples])
    rows = per_group_rows(Scored(samples, y, p, []), threshold=0.5)
    assert {r["source"] for r in rows} == {"utkface"}
    assert [(r["attribute"], r["value"]) for r in rows][:2] == [("age", "0-14"), ("age", "15-29")]  # ordered
    for row in rows:
        members = [i for i, person in enumerate(people) if person and person[row["attribute"]] == row["value"]]
        reals, fakes = [i for i in members if y[i] == 0], [i for i in members if y[i] == 1]
        assert (row["n"], row["n_real"], row["n_fake"]) == (len(members), len(reals), len(fakes))
        assert row["false_positive_rate"] == pytest.approx(np.mean(p[reals] >= 0.5))
        assert row["recall"] == pytest.approx(np.mean(p[fakes] >= 0.5))
        for metric in ("false_positive_rate", "recall"):
            assert row[f"{metric}_ci_low"] <= row[metric] <= row[f"{metric}_ci_high"]
        assert "uncertain_share" not in row  # no band given
    by = {(r["attribute"], r["value"]): r for r in rows}
    assert by[("gender", "female")]["false_positive_rate"] == 1 and by[("gender", "male")]["false_positive_rate"] == 0
    assert by[("age", "60+")]["recall"] == 0 and by[("age", "15-29")]["recall"] == 1
    mixed = by[("ethnicity", "white")]  # women and men: an interval around a rate strictly between 0 and 1
    assert mixed["false_positive_rate_ci_low"] < mixed["false_positive_rate"] < mixed["false_positive_rate_ci_high"]


def _samples(folder: Path, label: int, source: str, take: slice) -> list[Sample]:
    return [Sample(p, label, source) for p in sorted(folder.glob("*.jpg"))[take]]


def test_calibrate_a_saved_model_then_evaluate_per_source_and_group(tmp_path: Path, capsys):
    model = Path(shutil.copytree(bundled_model_dir("fast"), tmp_path / "fast"))
    weights = (model / "model.safetensors").read_bytes()
    valid = (_samples(SPLITS_140K / "valid" / "real", 0, "140k", slice(0, 16))
             + _samples(SPLITS_140K / "valid" / "fake", 1, "140k", slice(0, 24))
             + [Sample(p, 0, "utkface") for p in UTKFACE[:40:2]])
    test = (_samples(SPLITS_140K / "test" / "real", 0, "140k", slice(0, 12))
            + _samples(SPLITS_140K / "test" / "fake", 1, "140k", slice(0, 12))
            + [Sample(p, 0, "utkface") for p in UTKFACE[1:48:2]])
    write_splits(model / "splits.csv", Splits([], valid, test, True))

    assert main(["calibrate", str(model), "--threshold", "fpr:0.1@worst-source", "--uncertain", "0.95",
                 "--no-temperature", "--framing", "faces+image", "--processed-reals", "--quiet"]) == 0
    printed = capsys.readouterr().out
    meta = json.loads((model / "model.json").read_text())
    assert (model / "model.safetensors").read_bytes() == weights  # model.json alone rewritten
    selection, band = meta["threshold_selection"], meta["uncertain"]
    assert meta["threshold_policy"] == "fpr:0.1@worst-source" and selection["n"] == len(valid)
    assert meta["framing"] == "faces+image" and "framing: faces+image" in printed
    assert set(selection["val_fpr_by_source"]) == {"140k", "utkface"}
    assert max(selection["val_fpr_by_source"].values()) <= 0.1
    assert band["low"] <= meta["threshold"] <= band["high"] and band["policy"] == "accuracy:0.95"
    assert band["selection"]["confident_accuracy"] >= 0.95
    assert f"threshold: {meta['threshold']:.6f} (fpr:0.1@worst-source)" in printed and "utkface" in printed

    # The stored operating point, checked against what predict gives the validation photos (faces as calibrated,
    # and each photo also scored whole, as the model's framing now says).
    from deepfake_detector import Detector

    assert selection["faces"] == "auto"
    scores = {p.path: p.p_fake for p in Detector.load(model, device="cpu").predict([s.path for s in valid])}
    p = np.array([scores[str(s.path)] for s in valid])
    utk = np.array([s.source == "utkface" for s in valid])
    assert np.mean(p[utk] >= meta["threshold"]) == pytest.approx(selection["val_fpr_by_source"]["utkface"])
    inside = (p >= band["low"]) & (p < band["high"])
    assert np.mean(inside) == pytest.approx(band["selection"]["share"])

    assert main(["evaluate", str(model), "--quiet"]) == 0  # the run's own test split
    printed = capsys.readouterr().out
    out = model / "eval-test"
    metrics = json.loads((out / "metrics.json").read_text())
    worst = metrics["worst_real_source"]
    fprs = {name: row["false_positive_rate"] for name, row in metrics["per_source"].items()}
    assert worst["false_positive_rate"] == max(fprs.values()) and fprs[worst["source"]] == max(fprs.values())
    assert f"worst real source: {worst['source']} fpr={worst['false_positive_rate']:.4f}" in printed
    assert f"uncertain: share={metrics['uncertain']['uncertain_share']:.4f}" in printed
    with (out / "predictions.csv").open() as fh:
        predictions = list(csv.DictReader(fh))
    uncertain = np.mean([r["predicted"] == "uncertain" for r in predictions])
    assert metrics["uncertain"]["uncertain_share"] == pytest.approx(uncertain)
    with (out / "per_group.csv").open() as fh:
        groups = list(csv.DictReader(fh))
    assert {g["source"] for g in groups} == {"utkface"} and len(groups) == len(metrics["per_group"])
    for group in groups:  # each group's FPR recomputed from the predictions and the file names
        rows = [r for r in predictions if "chip" in r["path"] and _attributes(Path(r["path"]))[group["attribute"]]
                == group["value"]]
        flagged = np.mean([float(r["p_fake"]) >= meta["threshold"] for r in rows])
        assert int(group["n"]) == len(rows) and float(group["false_positive_rate"]) == pytest.approx(flagged, abs=1e-5)
        assert group["uncertain_share"] != ""
    report = (out / "report.html").read_text()
    assert "Per group" in report and "Uncertain band" in report and "female" in report


def test_calibrate_holds_processed_validation_reals_to_the_policy(tmp_path: Path, capsys):
    """--processed-reals jpeg:30: the fast model's threshold also holds each source's validation reals re-saved at
    JPEG quality 30 to the policy; each such group's FPR is what predict gives those photos, and the choice is
    kept by a later calibrate unless removed."""
    from deepfake_detector import Detector
    from deepfake_detector.data.perturb import parse_perturbations
    from deepfake_detector.evaluation.scoring import as_alter

    model = Path(shutil.copytree(bundled_model_dir("fast"), tmp_path / "fast"))
    valid = (_samples(SPLITS_140K / "valid" / "real", 0, "140k", slice(0, 16))
             + _samples(SPLITS_140K / "valid" / "fake", 1, "140k", slice(0, 16))
             + [Sample(p, 0, "utkface") for p in UTKFACE[:16]])
    write_splits(model / "splits.csv", Splits([], valid, [], True))
    common = ["calibrate", str(model), "--threshold", "fpr:0.125@worst-source", "--no-temperature", "--uncertain",
              "none", "--faces", "off", "--quiet"]
    assert main([*common, "--processed-reals"]) == 0  # no steps: the bundled model's own are dropped
    plain = json.loads((model / "model.json").read_text())["threshold"]
    assert main([*common, "--processed-reals", "jpeg:30"]) == 0
    assert "held after processing too: jpeg:30" in capsys.readouterr().out
    meta = json.loads((model / "model.json").read_text())
    selection, threshold = meta["threshold_selection"], meta["threshold"]
    assert selection["processed_reals"] == ["jpeg:30"] and threshold >= plain
    assert set(selection["val_fpr_by_source"]) == {"140k", "utkface", "140k+jpeg:30", "utkface+jpeg:30"}

    [step] = parse_perturbations(["jpeg:30"])
    detector = Detector.load(model, device="cpu")
    for source in ("140k", "utkface"):
        reals = [s.path for s in valid if s.source == source and s.label == 0]
        p = np.array([x.p_fake for x in detector.predict_images(reals, faces="off", alter=as_alter(step))])
        assert selection["val_fpr_by_source"][f"{source}+jpeg:30"] == pytest.approx(np.mean(p >= threshold))
        assert np.mean(p >= threshold) <= 0.125

    assert main(common) == 0  # calibrated again as the model was: still held after JPEG 30
    assert json.loads((model / "model.json").read_text())["threshold_selection"]["processed_reals"] == ["jpeg:30"]
    assert main([*common, "--processed-reals"]) == 0  # no steps: no longer
    again = json.loads((model / "model.json").read_text())
    assert "processed_reals" not in again["threshold_selection"] and again["threshold"] == pytest.approx(plain)
