"""Every subcommand runs from the command line; user errors are one line and exit code 2."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepfake_detector.cli import main

from .conftest import CROSS, DATA_140K


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deepfake_detector.cli", *args], capture_output=True, text=True,
                          timeout=300)


def test_models_lists_registry(capsys):
    assert main(["models"]) == 0
    assert "seed_cnn" in capsys.readouterr().out.split()


def test_train_cli_on_tiny_data(tmp_path: Path, tiny_dataset: Path):
    out = tmp_path / "run"
    proc = run_cli("train", "--config", "configs/seed-cnn.yaml", "--data", str(tiny_dataset), "--out", str(out),
                   "--quiet", "train.epochs=1", "model.args.input_size=32")
    assert proc.returncode == 0, proc.stderr
    assert "validation: n=4" in proc.stdout and (out / "model.json").is_file()


def test_evaluate_cli_writes_metrics_and_report(trained_run, tmp_path: Path):
    out = tmp_path / "eval"
    proc = run_cli("evaluate", str(trained_run.out_dir), "--data", str(DATA_140K), "--split", "test",
                   "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("n", "tp", "tn", "fp", "fn", "accuracy", "precision", "recall", "f1", "roc_auc",
                "average_precision", "per_class"):
        assert key in metrics
    assert metrics["accuracy"] == pytest.approx((metrics["tp"] + metrics["tn"]) / metrics["n"])
    assert metrics["per_class"]["fake"]["support"] == 207
    for name in ("confusion_matrix.png", "roc.png", "report.html", "predictions.csv"):
        assert (out / name).is_file()


def test_evaluating_a_bundled_model_writes_in_the_working_folder_not_the_package(tmp_path: Path, monkeypatch):
    from deepfake_detector.models.bundled import bundled_model_dir

    package = bundled_model_dir("fast")
    before = sorted(p.name for p in package.iterdir())
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "fast", "--data", str(CROSS / "originals-1024"), "--quiet"]) == 0
    report = (tmp_path / "fast-model" / "eval-all" / "report.html").read_text()
    assert "Evaluation: fast on originals-1024" in report  # named as users call it, not by its training run
    assert json.loads((tmp_path / "fast-model" / "eval-all" / "metrics.json").read_text())["n"] == 12
    assert sorted(p.name for p in package.iterdir()) == before


def test_predict_cli_files_folders_globs_and_bad_files(trained_run, tmp_path: Path):
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really")
    folder = CROSS / "originals-1024" / "real"
    out_csv, out_json = tmp_path / "r.csv", tmp_path / "r.json"
    pattern = str(CROSS / "originals-1024" / "fake" / "*")
    proc = run_cli("predict", "--model", str(trained_run.out_dir), str(folder), pattern, str(bad),
                   "--output", str(out_csv), "--quiet")
    assert proc.returncode == 0, proc.stderr
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 13 and list(rows[0]) == ["path", "p_fake", "label", "error", "faces", "warning", "video",
                                                  "reason", "provenance", "image_p_fake", "model_id", "threshold",
                                                  "uncertain", "inference_engine"]
    assert all(len(json.loads(r["faces"])) == 1 for r in rows if r["path"] != str(bad))  # one face each
    broken = [r for r in rows if r["path"] == str(bad)][0]
    assert broken["p_fake"] == "" and "corrupt" in broken["error"]
    assert all(r["label"] in ("real", "fake") for r in rows if r["path"] != str(bad))
    assert "1 unreadable" in proc.stdout
    assert run_cli("predict", "--model", str(trained_run.out_dir), str(folder), "--output", str(out_json),
                   "--quiet").returncode == 0
    data = json.loads(out_json.read_text())
    assert len(data["predictions"]) == 6 and data["threshold"] == pytest.approx(0.5)


@pytest.mark.parametrize(("args", "message"), [
    (["train", "--config", "configs/seed-cnn.yaml", "--data", "/nonexistent/data"],
     "/nonexistent/data: dataset not found"),
    (["train", "--config", "configs/seed-cnn.yaml", "train.epochs=-1"], "train.epochs"),
    (["train", "--config", "configs/nope.yaml"], "config file not found"),
    (["evaluate", "/nonexistent/model", "--data", str(DATA_140K)], "/nonexistent/model: model not found"),
    (["predict", "--model", "/nonexistent/model", "x.jpg"], "model not found"),
    (["calibrate", "fast"], "fast: calibrate rewrites the model folder it is given"),
    (["evaluate", "default", "--data", str(DATA_140K), "--set-threshold", "youden"],
     "default: --set-threshold rewrites the model folder"),
])
def test_user_errors_are_one_line(args: list[str], message: str, capsys, tmp_path: Path):
    if args[0] == "train":
        args = [*args, "--out", str(tmp_path / "run")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_offline_kaggle_download_fails_with_advice(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "deepfake_detector.cli", "train", "--config", "configs/seed-cnn.yaml",
         "--data", "kaggle", "--out", str(tmp_path / "k")],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "KAGGLEHUB_CACHE": str(tmp_path / "cache"),
             "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"})
    assert proc.returncode == 2, proc.stderr
    assert "could not download the Kaggle dataset" in proc.stderr and "--data" in proc.stderr
    assert "Traceback" not in proc.stderr
