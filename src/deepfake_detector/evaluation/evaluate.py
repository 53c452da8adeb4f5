"""Evaluate a saved model on a dataset split: metrics.json, plots, predictions and an HTML report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepfake_detector.data.dataset import ImageDataset
from deepfake_detector.data.discovery import discover
from deepfake_detector.data.samples import LABEL_NAMES, BadFile, Sample
from deepfake_detector.data.splits import select_split
from deepfake_detector.evaluation.metrics import binary_metrics
from deepfake_detector.evaluation.paper import paper_reference
from deepfake_detector.evaluation.plots import plot_confusion_matrix, plot_roc, plot_score_histogram
from deepfake_detector.evaluation.report import write_report
from deepfake_detector.inference.detector import Detector
from deepfake_detector.utils.atomic import write_csv, write_json


@dataclass
class Evaluation:
    metrics: dict
    out_dir: Path
    bad_files: list[BadFile]

    @property
    def report(self) -> Path:
        return self.out_dir / "report.html"


def evaluate_samples(detector: Detector, samples: list[Sample], out_dir: str | Path, *, title: str,
                     subtitle: str, skipped: list[BadFile] | None = None, batch_size: int = 64,
                     progress: bool = True) -> Evaluation:
    """Score ``samples``, then write metrics.json, predictions.csv, bad_files.csv, plots and report."""
    out = Path(out_dir)
    dataset = ImageDataset(samples, detector.preprocess, detector.transform, cache=False)
    scores, errors = detector.score_dataset(dataset, batch_size=batch_size, progress=progress)
    bad = list(skipped or []) + [BadFile(str(samples[i].path), r) for i, r in sorted(errors.items())]
    scored = sorted(scores)
    if not scored:
        from deepfake_detector.errors import DatasetError

        raise DatasetError(f"no readable images to evaluate ({len(bad)} bad files; see the list above)")
    labels = np.array([samples[i].label for i in scored])
    probs = np.array([scores[i] for i in scored])
    metrics = binary_metrics(labels, probs, detector.threshold)
    metrics["n_skipped"] = len(bad)
    metrics["model"] = detector.meta.get("path")

    write_json(out / "metrics.json", metrics)
    write_csv(out / "predictions.csv", [
        {"path": str(samples[i].path), "label": LABEL_NAMES[samples[i].label], "p_fake": f"{scores[i]:.6f}",
         "predicted": detector.label_for(scores[i])} for i in scored])
    write_csv(out / "bad_files.csv", [{"path": b.path, "reason": b.reason} for b in bad], ["path", "reason"])
    plots = [
        plot_confusion_matrix(metrics["tp"], metrics["tn"], metrics["fp"], metrics["fn"],
                              out / "confusion_matrix.png"),
        plot_roc({subtitle.split(" · ")[0] or "model": (labels, probs)}, out / "roc.png")
        if metrics["roc_auc"] is not None else None,
        plot_score_histogram(labels, probs, detector.threshold, out / "scores.png"),
    ]
    curves = Path(detector.meta.get("path", "")) / "curves.png"
    plots = [p for p in plots if p is not None] + ([curves] if curves.is_file() else [])
    paper = paper_reference(detector.meta.get("paper"))
    write_report(out / "report.html", title=title, subtitle=subtitle, metrics=metrics, plots=plots,
                 paper=paper, bad_files=bad)
    return Evaluation(metrics, out, bad)


def evaluate(model: str | Path | Detector, data: str | Path, split: str | None = None,
             out_dir: str | Path | None = None, batch_size: int = 64, progress: bool = True) -> Evaluation:
    """Evaluate a saved model (folder or loaded Detector) on one split of a dataset."""
    detector = model if isinstance(model, Detector) else Detector.load(model)
    dataset = discover(data)
    training = detector.meta.get("training", {})
    split_name, samples = select_split(dataset, split, training.get("val_fraction", 0.2),
                                       training.get("seed", 42))
    out = Path(out_dir) if out_dir else Path(detector.meta.get("path", ".")) / f"eval-{split_name}"
    name = detector.meta.get("run_name", detector.meta["model"]["name"])
    return evaluate_samples(detector, samples, out, title=f"Evaluation: {name}",
                            subtitle=f"{name} · {dataset.root} · split '{split_name}'",
                            skipped=dataset.skipped, batch_size=batch_size, progress=progress)
