"""Cross-dataset evaluation: one model on several sets -> one table (CSV + report) and one ROC plot."""

from __future__ import annotations

from html import escape
from pathlib import Path

from deepfake_detector.evaluation.plots import plot_roc
from deepfake_detector.evaluation.report import plots_html, rows_table, write_page
from deepfake_detector.evaluation.summary import BAND_METRICS, SCHEMA_VERSION, headline_row
from deepfake_detector.utils.atomic import write_csv, write_json

# The headline first (ranking, then what the stored threshold does to fakes and to reals); the CSV has them all.
REPORT_METRICS = ("roc_auc", "recall", "false_positive_rate", "tpr_at_fpr_5pct", "eer", "accuracy",
                  "balanced_accuracy", "average_precision", "ece")


def dataset_names(paths: list[str | Path]) -> list[str]:
    """Short unique names for dataset paths (their folder names, numbered when they clash)."""
    names: list[str] = []
    for p in paths:
        base = Path(p).resolve().name or "data"
        name, i = base, 2
        while name in names:
            name, i = f"{base}-{i}", i + 1
        names.append(name)
    return names


def write_cross_dataset(results: dict[str, tuple[str, dict, tuple]], out_dir: str | Path, *, title: str,
                        subtitle: str, model: str | None) -> tuple[list[dict], Path]:
    """``results``: name -> (dataset path, summary, (labels, p_fake)). Writes cross_dataset.csv,
    roc_cross.png, metrics.json (every set's full summary) and report.html; returns rows and report."""
    out = Path(out_dir)
    rows = [{"dataset": name, "path": path, **headline_row(summary)}
            for name, (path, summary, _) in results.items()]
    write_csv(out / "cross_dataset.csv", rows)
    curves = {name: scored for name, (_, summary, scored) in results.items()
              if summary["roc_auc"] is not None}
    roc = plot_roc(curves, out / "roc_cross.png") if curves else None
    summaries = {name: summary for name, (_, summary, _) in results.items()}
    write_json(out / "metrics.json", {"schema_version": SCHEMA_VERSION, "kind": "cross_dataset",
                                      "model": model, "datasets": summaries})
    links = "".join(f'<li><a href="{escape(name)}/report.html">{escape(name)}</a>: {escape(path)}</li>'
                    for name, (path, _, _) in results.items())
    banded = BAND_METRICS if any("uncertain_share" in r for r in rows) else ()
    body = ("<h2>Cross-dataset results</h2><p>Fakes caught, reals flagged, accuracy and the uncertain share at the "
            "model's stored threshold and band; 95% bootstrap intervals in brackets; a dash where a set has one "
            "class only. Every figure (and more) is in cross_dataset.csv.</p>"
            + rows_table(rows, "dataset", REPORT_METRICS[:3] + banded + REPORT_METRICS[3:])
            + plots_html([roc] if roc else []) + f"<h2>Per-set reports</h2><ul>{links}</ul>")
    return rows, write_page(out / "report.html", title, subtitle, body)
