"""Robustness suite: score one set again under each perturbation (both classes alike) and tabulate: the
headline figures of the whole set (fakes caught, reals flagged, the uncertain share at the model's band) and, for
a set of several sources, each source's, since a perturbation that passes one generator's fakes or flags one kind
of real photo hides in a pooled figure."""

from __future__ import annotations

from pathlib import Path

from deepfake_detector.data.perturb import Perturbation
from deepfake_detector.data.samples import Sample
from deepfake_detector.evaluation.per_source import per_source_rows
from deepfake_detector.evaluation.plots import plot_robustness
from deepfake_detector.evaluation.report import rows_table
from deepfake_detector.evaluation.scoring import Scored, score_samples
from deepfake_detector.evaluation.summary import BAND_METRICS, headline_row, summarize
from deepfake_detector.evaluation.uncertainty import UncertainBand
from deepfake_detector.inference.detector import Detector
from deepfake_detector.utils.atomic import write_csv

PLOT_METRICS = ("roc_auc", "accuracy", "balanced_accuracy", "accuracy_at_0.5")
REPORT_METRICS = ("roc_auc", "recall", "false_positive_rate", "eer", "tpr_at_fpr_5pct", "accuracy",
                  "accuracy_at_0.5", "ece")
SOURCE_METRICS = ("recall", "false_positive_rate", "uncertain_share")


def run_robustness(detector: Detector, clean: Scored, perturbations: list[Perturbation], summary: dict,
                   out_dir: str | Path, *, band: UncertainBand | None = None, faces: str = "auto",
                   batch_size: int = 64, progress: bool = True,
                   seed: int = 0) -> tuple[list[dict], list[dict], Path]:
    """Rows of the whole set (clean first, from its ``summary``, then one per perturbation), rows per source
    (clean ones from the ``summary``'s ``per_source``, then each perturbation's; none for a single source),
    ``robustness.csv``, ``robustness_per_source.csv`` and ``robustness.png``."""
    out = Path(out_dir)
    rows = [{"perturbation": "none", "kind": "none", "strength": None, **headline_row(summary)}]
    by_source = [{"perturbation": "none", **r} for r in summary.get("per_source", {}).values()]
    samples: list[Sample] = clean.samples
    for p in perturbations:
        scored = score_samples(detector, samples, faces=faces, batch_size=batch_size, progress=progress,
                               perturb=p)
        perturbed = summarize(scored.labels, scored.p_fake, detector.threshold, seed=seed, band=band)
        rows.append({"perturbation": p.name, "kind": p.kind, "strength": p.strength, **headline_row(perturbed)})
        by_source += [{"perturbation": p.name, **r} for r in per_source_rows(scored, detector.threshold, seed, band)]
    write_csv(out / "robustness.csv", rows)
    if by_source:
        write_csv(out / "robustness_per_source.csv", by_source)
    plot = plot_robustness(rows, PLOT_METRICS, out / "robustness.png")
    return rows, by_source, plot


def robustness_section(rows: list[dict], by_source: list[dict]) -> str:
    """HTML for the report: the whole set's table, then each source's (the plot is embedded with the others)."""
    banded = BAND_METRICS if "uncertain_share" in rows[0] else ()
    html = ("<h2>Robustness (perturbations applied to both classes right after decoding)</h2>"
            + rows_table(rows, "perturbation", REPORT_METRICS + banded))
    if by_source:
        metrics = SOURCE_METRICS if "uncertain_share" in by_source[0] else SOURCE_METRICS[:2]
        html += ("<h2>Robustness per source (one-class sources: fakes caught or reals flagged)</h2>"
                 + rows_table(sorted(by_source, key=lambda r: r["source"]), ("source", "perturbation"), metrics))
    return html
