"""What ``make demo`` shows: the seed recipe trained now, the bundled detector, and the paper, side by side.

``deepfake-detector demo --data PATH --out DIR`` (1) trains the seed-CNN recipe (SPEC.md recipe 1) on the data
and evaluates it on the test split, (2) evaluates a bundled model (the default CLIP detector unless told
otherwise) on the same split, and (3) writes ``DIR/report.html``: both models' test figures with their 95%
intervals beside the paper's published ones, one ROC plot, and links to each model's full report. Under
``DIR``: ``<recipe name>/`` (the trained run, its ``eval-<split>/``), ``<bundled>-model/eval-<split>/``,
``report.html`` and ``roc.png``.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

from deepfake_detector.config import load_config
from deepfake_detector.data.discovery import discover
from deepfake_detector.data.kaggle import resolve_data_source
from deepfake_detector.data.splits import select_split
from deepfake_detector.evaluation import Evaluation, evaluate
from deepfake_detector.evaluation.paper import paper_reference
from deepfake_detector.evaluation.plots import plot_roc
from deepfake_detector.evaluation.report import beside_paper, rows_table
from deepfake_detector.evaluation.summary import headline_row
from deepfake_detector.inference.detector import Detector
from deepfake_detector.models.bundled import model_label
from deepfake_detector.models.meta import ModelMeta, TrainingInfo
from deepfake_detector.training import TrainResult, train
from deepfake_detector.utils.html_page import Html, plots_html, table, write_page
from deepfake_detector.utils.owned import mark

REPORT_FILE = "report.html"
# The side-by-side columns: what a user asks first (at each model's stored point: fakes caught, reals flagged, how
# often it answers "uncertain" and how often its confident verdicts are right), then threshold-free figures.
DEMO_METRICS = ("roc_auc", "recall", "false_positive_rate", "uncertain_share", "confident_accuracy", "accuracy",
                "balanced_accuracy", "average_precision", "eer", "tpr_at_fpr_1pct", "log_loss", "ece")


@dataclass(frozen=True)
class DemoModel:
    """One model of the demo and its test evaluation."""

    label: str  # the column heading in the report, e.g. "seed-cnn (trained now)"
    about: str  # what it is and what it was trained on
    evaluation: Evaluation


@dataclass(frozen=True)
class DemoResult:
    trained: TrainResult  # the seed recipe's run (its validation summary)
    models: list[DemoModel]  # the trained recipe, then the bundled model
    paper: dict | None  # evaluation.paper.paper_reference of the recipe, if it reproduces one
    report: Path


def run_demo(data: str | Path | None, out_dir: str | Path, *, config: str | Path, bundled: str = "default",
             overrides: list[str] | None = None, split: str = "test", progress: bool = True) -> DemoResult:
    """Train ``config`` on ``data`` and test it, test the ``bundled`` model on the same split, write the report.

    ``data``: a dataset folder or manifest, or ``kaggle`` / None to download the 140k dataset (one-line
    error offline). ``overrides``: config overrides for the trained recipe (e.g. ``train.epochs=1``).
    """
    data_root = resolve_data_source(data)
    select_split(discover(data_root), split)  # the split both models are tested on: checked before any work
    cfg = load_config(config, [*(overrides or []), f"data.path={data_root}"])
    # Loaded before training, so a missing model stops the demo at once. "default" falls back to "fast" with a
    # one-line warning when offline without its weights; the report then names the model actually tested.
    product = Detector.load(bundled)
    out = mark(Path(out_dir), "demo")
    trained = train(cfg, out / cfg.name, overwrite=True, progress=progress)
    models = []
    for detector, role, eval_dir in ((Detector.load(trained.out_dir), "trained now", None),
                                     (product, "bundled", out / f"{bundled}-model" / f"eval-{split}")):
        name = model_label(detector.meta)
        models.append(DemoModel(f"{name} ({role})", _about(detector.meta),
                                evaluate(detector, data_root, split=split, out_dir=eval_dir, progress=progress)))
    paper = paper_reference(cfg.paper)
    report = write_demo_report(out / REPORT_FILE, models, paper, data=str(data_root))
    return DemoResult(trained, models, paper, report)


def write_demo_report(path: str | Path, models: list[DemoModel], paper: dict | None, *, data: str) -> Path:
    """One page: the models' test figures side by side (95% intervals), beside the paper's, one ROC plot."""
    path = Path(path)
    first = models[0].evaluation.metrics
    rows = [{"model": m.label, **headline_row(m.evaluation.metrics)} for m in models]
    curves = {m.label: (m.evaluation.scored.labels, m.evaluation.scored.p_fake) for m in models}
    about = table(["model", "what it is", "full report"],
                  [[m.label, m.about, _link(m.evaluation.report, path.parent)] for m in models])
    body = ("<h2>The models</h2>" + about
            + f"<h2>The '{html.escape(first['split'])}' split, side by side</h2>"
              f"<p>{first['n']} images ({first['n_real']} real, {first['n_fake']} fake); threshold metrics at each "
              "model's stored threshold, chosen on validation data only; a model with an \"uncertain\" band (a dash "
              "where it has none) answers neither real nor fake for the share shown. 95% bootstrap intervals in "
              "brackets.</p>"
            + rows_table(rows, "model", DEMO_METRICS)
            + plots_html([plot_roc(curves, path.parent / "roc.png")]))
    if paper:
        columns = {f"{m.label} at {m.evaluation.metrics['threshold']:.4f}": m.evaluation.metrics["at_selected"]
                   for m in models}
        body += ("<h2>Beside the paper</h2><p>The paper's figures are on its own test set (its counts below), "
                 "ours on the split above.</p>" + beside_paper(columns, paper))
    return write_page(path, "deepfake-detector demo",
                      f"{data} · split '{first['split']}' · {' vs '.join(m.label for m in models)}", body)


def _about(meta: ModelMeta) -> str:
    training = meta.training or TrainingInfo()
    return (f"{meta.model.name}, trained on {training.data} ({training.n_train} training images, "
            f"epochs: {training.epochs})")


def _link(target: Path, base: Path) -> Html:
    href = html.escape(os.path.relpath(target, base))
    return Html(f'<a href="{href}">{href}</a>')
