"""Side-by-side comparison of recipes: train each config on the same data split, test them all alike.

``deepfake-detector compare --configs a.yaml b.yaml --data PATH --out DIR`` writes, under ``DIR``:
one run folder per config (``DIR/<name>``, a normal saved model with its ``eval-<split>`` report),
``comparison.csv``, ``comparison.md``, ``comparison.html``, ``metrics.png`` (accuracy / ROC-AUC / F1 bars)
and ``roc.png`` (all ROC curves on one plot). A run folder that already holds a model and its
``timing.json`` is reused unless ``retrain`` is set (with its test evaluation, once done), so a comparison can
be extended one config at a time.
"""

from __future__ import annotations

import csv
import html
import json
import time
from pathlib import Path

import numpy as np

from deepfake_detector.config import load_config
from deepfake_detector.data.discovery import discover
from deepfake_detector.data.samples import FAKE, LABEL_NAMES
from deepfake_detector.data.splits import select_split
from deepfake_detector.errors import ConfigError
from deepfake_detector.evaluation import evaluate
from deepfake_detector.evaluation.plots import new_figure, plot_roc, save_png
from deepfake_detector.inference.detector import Detector
from deepfake_detector.models.base import BackboneAndHead
from deepfake_detector.utils.atomic import write_csv, write_json, write_text
from deepfake_detector.utils.owned import mark

COLUMNS = ["name", "model", "finetune", "accuracy", "roc_auc", "f1", "precision", "recall", "n_test",
           "train_seconds", "predict_img_per_s", "parameters", "trained_parameters", "threshold"]
TIMING_FILE = "timing.json"


def _train_or_reuse(config: Path, data: str, run: Path, overrides: list[str], retrain: bool,
                    progress: bool) -> dict:
    from deepfake_detector.training import train

    cfg = load_config(config, [*overrides, f"data.path={data}"])
    timing_file = run / TIMING_FILE
    if not retrain and (run / "model.json").is_file() and timing_file.is_file():
        return json.loads(timing_file.read_text())
    started = time.perf_counter()
    train(cfg, run, overwrite=True, progress=progress)
    timing = {"config": str(config), "train_seconds": round(time.perf_counter() - started, 1),
              "finetune": cfg.train.finetune, "overrides": overrides}
    write_json(timing_file, timing)
    return timing


def _evaluate_or_reuse(detector: Detector, data: str, split: str, run: Path, timing: dict,
                       progress: bool) -> tuple[dict, np.ndarray, np.ndarray, float]:
    """Test metrics, labels, scores and scoring seconds; a reused run's earlier evaluation is read back."""
    out = run / f"eval-{split}"
    key = f"eval_seconds_{split}"
    if key in timing and (out / "metrics.json").is_file() and (out / "predictions.csv").is_file():
        with open(out / "predictions.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        labels = np.array([LABEL_NAMES[FAKE] == r["label"] for r in rows], dtype=int)
        scores = np.array([float(r["p_fake"]) for r in rows])
        return json.loads((out / "metrics.json").read_text()), labels, scores, timing[key]
    started = time.perf_counter()
    result = evaluate(detector, data, split=split, out_dir=out, progress=progress)
    seconds = round(time.perf_counter() - started, 1)
    write_json(run / TIMING_FILE, {**timing, key: seconds})
    return result.metrics, np.asarray(result.scored.labels), np.asarray(result.scored.p_fake), seconds


def _trained_parameters(detector: Detector, finetune: str) -> int:
    model = detector.model
    part = model.head if finetune == "frozen" and isinstance(model, BackboneAndHead) else model
    return sum(p.numel() for p in part.parameters())


def _plot_bars(rows: list[dict], path: Path) -> Path:
    metrics = ["accuracy", "roc_auc", "f1"]
    x = np.arange(len(rows))
    width = 0.8 / len(metrics)
    fig, ax = new_figure(figsize=(max(4.5, 1.6 * len(rows) + 2), 3.8))
    for i, m in enumerate(metrics):
        values = [r[m] if r[m] is not None else 0.0 for r in rows]
        bars = ax.bar(x + (i - 1) * width, values, width, label=m)
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    ax.set_xticks(x, [r["name"] for r in rows], rotation=15)
    ax.set_ylim(0, 1.08)
    ax.set_title("Test metrics")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return save_png(fig, path)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if v <= 1 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return "n/a" if v is None else str(v)


def _markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_fmt(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _html(rows: list[dict], data: str, split: str) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r[c]))}</td>" for c in COLUMNS) + "</tr>" for r in rows)
    return (f"<!doctype html><meta charset='utf-8'><title>Comparison</title>"
            f"<style>body{{font-family:sans-serif}}td,th{{padding:4px 8px;border-bottom:1px solid #ddd}}</style>"
            f"<h1>Backbone comparison</h1><p>data: {html.escape(data)} · split '{html.escape(split)}' · "
            f"threshold from each model's validation split</p><table><tr>{head}</tr>{body}</table>"
            f"<p><img src='metrics.png'> <img src='roc.png'></p>")


def compare(configs: list[str | Path], data: str, out_dir: str | Path, *, split: str = "test",
            overrides: list[str] | None = None, retrain: bool = False, progress: bool = True) -> list[dict]:
    """Train (or reuse) every config on ``data``, evaluate each on ``split``, write the table and plots."""
    out = Path(out_dir)
    names: dict[str, Path] = {}
    for config in map(Path, configs):
        name = load_config(config, overrides).name
        if name in names:
            raise ConfigError(f"{config}: run name '{name}' is also used by {names[name]}; names must differ")
        names[name] = config
    # Check the data before hours of training: it must have the split every model is compared on.
    dataset = discover(data)
    select_split(dataset, split)
    mark(out, "comparison")
    rows, curves = [], {}
    for name, config in names.items():
        run = out / name
        timing = _train_or_reuse(config, data, run, list(overrides or []), retrain, progress)
        detector = Detector.load(run, device="cpu")
        m, labels, scores, seconds = _evaluate_or_reuse(detector, data, split, run, timing, progress)
        curves[name] = (labels, scores)
        rows.append({
            "name": name, "model": detector.meta.model.name, "finetune": timing["finetune"],
            "accuracy": m.get("accuracy"), "roc_auc": m.get("roc_auc"), "f1": m.get("f1"),
            "precision": m.get("precision"), "recall": m.get("recall"), "n_test": m.get("n"),
            "train_seconds": timing["train_seconds"], "predict_img_per_s": round(m.get("n", 0) / seconds, 1),
            "parameters": sum(p.numel() for p in detector.model.parameters()),
            "trained_parameters": _trained_parameters(detector, timing["finetune"]),
            "threshold": round(detector.threshold, 4)})
    write_csv(out / "comparison.csv", rows, COLUMNS)
    write_text(out / "comparison.md", _markdown(rows))
    _plot_bars(rows, out / "metrics.png")
    if all(len(set(labels.tolist())) == 2 for labels, _ in curves.values()):
        plot_roc(curves, out / "roc.png")
    write_text(out / "comparison.html", _html(rows, data, split))
    return rows
