"""evaluate: several datasets -> one table and ROC plot; --perturb -> robustness table and plot;
metrics.json keeps the documented keys (docs/metrics.md)."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch

from deepfake_detector.cli import main
from deepfake_detector.models import create_model
from deepfake_detector.models.artifacts import save_model

TOP_KEYS = {"schema_version", "model", "data", "split", "faces", "inference_engine", "n_skipped", "threshold_policy",
            "temperature", "n",
            "n_real", "n_fake", "threshold", "tp", "tn", "fp", "fn", "accuracy", "precision", "recall", "f1",
            "specificity", "balanced_accuracy", "per_class", "roc_auc", "average_precision", "eer",
            "tpr_at_fpr_1pct", "tpr_at_fpr_5pct", "log_loss", "brier", "ece", "eer_threshold", "ci95",
            "at_default", "at_selected", "bootstrap", "reliability", "worst_real_source"}


def _model(path):
    torch.manual_seed(0)
    args = {"input_size": 32, "channels": [4], "dense": 4}
    save_model(create_model("seed_cnn", **args), path, name="seed_cnn", args=args, threshold=0.4)
    return path


def test_cross_dataset_and_robustness(tmp_path, tiny_dataset, capsys):
    other = shutil.copytree(tiny_dataset, tmp_path / "other")
    model = _model(tmp_path / "m")
    out = tmp_path / "ev"
    assert main(["evaluate", str(model), "--data", str(tiny_dataset), str(other), "--out", str(out),
                 "--perturb", "jpeg:50", "noise:0.05", "--quiet"]) == 0
    rows = list(csv.DictReader((out / "cross_dataset.csv").open()))
    assert [r["dataset"] for r in rows] == ["tiny", "other"] and rows[0]["roc_auc"] == rows[1]["roc_auc"]
    # reals flagged is 1 - specificity, its interval mirrored
    assert float(rows[0]["false_positive_rate"]) == pytest.approx(1 - float(rows[0]["specificity"]))
    assert float(rows[0]["false_positive_rate_ci_high"]) == pytest.approx(1 - float(rows[0]["specificity_ci_low"]))
    cross_page = (out / "report.html").read_text()
    assert '<span title="false_positive_rate">reals flagged (FPR)</span>' in cross_page  # named for people
    assert (out / "roc_cross.png").is_file() and (out / "report.html").is_file()
    combined = json.loads((out / "metrics.json").read_text())
    assert combined["kind"] == "cross_dataset" and set(combined["datasets"]) == {"tiny", "other"}
    metrics = json.loads((out / "tiny" / "metrics.json").read_text())
    assert set(metrics) == TOP_KEYS
    assert metrics["threshold"] == 0.4 and metrics["at_default"]["threshold"] == 0.5 and metrics["n"] == 20
    worst = metrics["worst_real_source"]  # one source: the pooled reals
    assert worst["source"] == "all" and worst["false_positive_rate"] == pytest.approx(1 - metrics["specificity"])
    robust = list(csv.DictReader((out / "tiny" / "robustness.csv").open()))
    assert [r["perturbation"] for r in robust] == ["none", "jpeg:50", "noise:0.05"]
    printed = capsys.readouterr().out  # the console too: one line per processing step and set
    jpeg = robust[1]
    assert printed.count("  processed jpeg:50 ") == 2
    assert (f"  processed jpeg:50      roc_auc={float(jpeg['roc_auc']):.4f}  fakes caught={float(jpeg['recall']):.4f}  "
            f"reals flagged={float(jpeg['false_positive_rate']):.4f}") in printed
    assert (out / "tiny" / "robustness.png").is_file() and (out / "tiny" / "reliability.png").is_file()
    report = (out / "tiny" / "report.html").read_text()
    assert "Robustness" in report and "at 0.5" in report and "Ranking and calibration" in report
    caught = f"{metrics['at_selected']['recall']:.1%}"
    assert f'<div class="card">fakes caught<b>{caught}</b>' in report and "reals flagged<b>" in report


def test_bad_perturbation_is_a_one_line_error(tmp_path, tiny_dataset, capsys):
    model = _model(tmp_path / "m")
    assert main(["evaluate", str(model), "--data", str(tiny_dataset), "--perturb", "jpeg:0"]) == 2
    assert "JPEG quality" in capsys.readouterr().err


def test_robustness_per_source_with_the_band_on_real_photos(tmp_path):
    """The fast model with an uncertain band, real photos of three sources (140k both classes, UTKFace reals, SD 2.1
    fakes), --perturb jpeg:30: every source gets a row per perturbation whose reals flagged, fakes caught and
    uncertain share are those of predict's own scores of the perturbed photos."""
    import numpy as np

    from deepfake_detector import Detector
    from deepfake_detector.data.perturb import parse_perturbations
    from deepfake_detector.evaluation.scoring import as_alter
    from deepfake_detector.models.bundled import bundled_model_dir

    from .conftest import CROSS, DATA_140K

    model = shutil.copytree(bundled_model_dir("fast"), tmp_path / "fast")
    meta = json.loads((model / "model.json").read_text())
    meta["uncertain"] = {"low": 0.2, "high": 0.6}
    meta["threshold"] = 0.6
    (model / "model.json").write_text(json.dumps(meta))
    valid = DATA_140K / "real_vs_fake" / "real-vs-fake" / "valid"
    rows = ([(p, "real", "140k") for p in sorted((valid / "real").glob("*.jpg"))[:8]]
            + [(p, "fake", "140k") for p in sorted((valid / "fake").glob("*.jpg"))[:8]]
            + [(p, "real", "utkface") for p in sorted((CROSS / "utkface" / "real").glob("*.jpg"))[:8]]
            + [(p, "fake", "sdfd-sd21") for p in sorted((CROSS / "sdfd-sd21" / "fake").glob("*.jpg"))[:8]])
    manifest = tmp_path / "splits.csv"
    with manifest.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "source", "split"])
        writer.writerows([str(p), label, source, "test"] for p, label, source in rows)
    out = tmp_path / "ev"
    assert main(["evaluate", str(model), "--data", str(manifest), "--split", "test", "--faces", "off",
                 "--perturb", "jpeg:30", "--out", str(out), "--quiet"]) == 0

    by_source = list(csv.DictReader((out / "robustness_per_source.csv").open()))
    assert [(r["perturbation"], r["source"]) for r in by_source] == [
        (p, s) for p in ("none", "jpeg:30") for s in ("140k", "sdfd-sd21", "utkface")]
    clean = {r["source"]: r for r in csv.DictReader((out / "per_source.csv").open())}
    for row in by_source[:3]:  # unperturbed: the per-source table itself
        assert row["false_positive_rate"] == clean[row["source"]]["false_positive_rate"]
        assert row["uncertain_share"] == clean[row["source"]]["uncertain_share"]

    [jpeg] = parse_perturbations(["jpeg:30"])
    detector = Detector.load(model, device="cpu")
    p = np.array([x.p_fake for x in detector.predict_images([r[0] for r in rows], faces="off", alter=as_alter(jpeg))])
    for row in by_source[3:]:
        mine = np.array([r[2] == row["source"] for r in rows])
        real, fake = mine & np.array([r[1] == "real" for r in rows]), mine & np.array([r[1] == "fake" for r in rows])
        if real.any():
            assert float(row["false_positive_rate"]) == pytest.approx(np.mean(p[real] >= 0.6))
        else:
            assert row["false_positive_rate"] == ""
        if fake.any():
            assert float(row["recall"]) == pytest.approx(np.mean(p[fake] >= 0.6))
        assert float(row["uncertain_share"]) == pytest.approx(np.mean((p[mine] >= 0.2) & (p[mine] < 0.6)))
    robust = list(csv.DictReader((out / "robustness.csv").open()))
    assert float(robust[1]["uncertain_share"]) == pytest.approx(np.mean((p >= 0.2) & (p < 0.6)))
    report = (out / "report.html").read_text()
    assert "Robustness per source" in report and "utkface" in report
