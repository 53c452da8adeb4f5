"""`make demo`'s report: the recipe trained now and a bundled model, tested on the same split, beside the paper."""

from __future__ import annotations

import csv
import html
import json

from deepfake_detector.evaluation.paper import paper_reference
from deepfake_detector.utils.html_page import fmt

from .conftest import DATA_140K, REPO

TINY_SEED = ["train.epochs=1", "model.args.input_size=32", "data.limit=40"]


def _tested_paths(folder) -> list[str]:
    with open(folder / "predictions.csv", newline="") as f:
        return [row["path"] for row in csv.DictReader(f)]


def test_demo_report_holds_both_models_measured_figures_and_the_papers(tmp_path) -> None:
    from deepfake_detector.evaluation.report import metric_label
    from deepfake_detector.experiments.demo import run_demo

    result = run_demo(DATA_140K, tmp_path / "demo", config=REPO / "configs" / "seed-cnn.yaml", bundled="fast",
                      overrides=TINY_SEED, progress=False)
    trained, bundled = result.models
    assert result.report == tmp_path / "demo" / "report.html"
    assert _tested_paths(trained.evaluation.out_dir) == _tested_paths(bundled.evaluation.out_dir)
    page = result.report.read_text()
    measured = [json.loads((m.evaluation.out_dir / "metrics.json").read_text()) for m in result.models]
    for model, m in zip(result.models, measured, strict=True):
        # Its row of the side-by-side table: name, test images, ROC-AUC (then the other metrics).
        assert f"<tr><td>{html.escape(model.label)}</td><td>{m['n']}</td><td>{m['roc_auc']:.4f} " in page
        assert html.escape(model.evaluation.report.relative_to(result.report.parent).as_posix()) in page
    # The bundled model is named as users call it, and its "uncertain" share is in its row.
    assert bundled.label == "fast (bundled)"
    band = measured[1]["uncertain"]
    assert f"<td>{band['uncertain_share']:.4f} <span class=\"ci\">" in page
    paper = paper_reference("seed-cnn")
    assert result.paper == paper
    # Beside the paper: counts at each model's stored threshold, then the paper's own.
    for count in ("tp", "tn", "fp", "fn"):
        cells = [m["at_selected"][count] for m in measured] + [paper["computed"][count]]
        assert "<tr><td>" + metric_label(count) + "</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" in page
    assert f"{paper['computed']['accuracy']:.4f} <span class=\"ci\">" in page
    assert html.escape(paper["title"]) in page
    for figure, value in paper["stated"].items():
        assert f"<tr><td>{html.escape(figure)}</td><td>{fmt(value)}</td></tr>" in page


def test_demo_without_the_split_stops_in_one_line_before_any_work(tmp_path, capsys) -> None:
    from deepfake_detector.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--data", str(DATA_140K), "--split", "holdout", "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {DATA_140K}") and "no 'holdout' split" in error and error.count("\n") == 1
    assert not out.exists()
