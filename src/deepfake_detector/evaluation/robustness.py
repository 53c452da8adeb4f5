"""Robustness suite: score one set again under each perturbation (both classes alike) and tabulate."""

from __future__ import annotations

from pathlib import Path

from deepfake_detector.data.perturb import Perturbation
from deepfake_detector.data.samples import Sample
from deepfake_detector.evaluation.plots import plot_robustness
from deepfake_detector.evaluation.report import rows_table
from deepfake_detector.evaluation.scoring import score_samples
from deepfake_detector.evaluation.summary import headline_row, summarize
from deepfake_detector.inference.detector import Detector
from deepfake_detector.utils.atomic import write_csv

PLOT_METRICS = ("roc_auc", "accuracy", "balanced_accuracy", "accuracy_at_0.5")
REPORT_METRICS = ("roc_auc", "eer", "tpr_at_fpr_5pct", "accuracy", "balanced_accuracy", "accuracy_at_0.5",
                  "ece")


def run_robustness(detector: Detector, samples: list[Sample], perturbations: list[Perturbation],
                   clean: dict, out_dir: str | Path, *, faces: str = "auto", batch_size: int = 64,
                   progress: bool = True, seed: int = 0) -> tuple[list[dict], Path, Path]:
    """Rows (clean first, then one per perturbation), ``robustness.csv`` and ``robustness.png``."""
    out = Path(out_dir)
    rows = [{"perturbation": "none", "kind": "none", "strength": None, **headline_row(clean)}]
    for p in perturbations:
        scored = score_samples(detector, samples, faces=faces, batch_size=batch_size, progress=progress,
                               perturb=p)
        summary = summarize(scored.labels, scored.p_fake, detector.threshold, seed=seed)
        rows.append({"perturbation": p.name, "kind": p.kind, "strength": p.strength, **headline_row(summary)})
    csv_path = out / "robustness.csv"
    write_csv(csv_path, rows)
    plot = plot_robustness(rows, PLOT_METRICS, out / "robustness.png")
    return rows, csv_path, plot


def robustness_section(rows: list[dict]) -> str:
    """HTML for the report: the table (plot is embedded with the others)."""
    return ("<h2>Robustness (perturbations applied to both classes right after decoding)</h2>"
            + rows_table(rows, "perturbation", REPORT_METRICS))
