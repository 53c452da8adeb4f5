"""Results per data source: a mix of generators and real photo sets is judged source by source.

A single ROC-AUC over a mix hides the generator a detector misses. Each source gets its own row: on a
source with both classes every metric; on a one-class source the meaningful ones, recall (= fakes caught)
for fakes and specificity (1 - false-positive rate) for reals, each with its bootstrap 95% interval; with
the model's uncertain band, the share of the source's inputs in it and the accuracy of the others.
"""

from __future__ import annotations

import numpy as np

from deepfake_detector.evaluation.report import rows_table
from deepfake_detector.evaluation.scoring import Scored
from deepfake_detector.evaluation.summary import BAND_METRICS, headline_row, reals_flagged, summarize
from deepfake_detector.evaluation.uncertainty import UncertainBand

REPORT_METRICS = ("roc_auc", "accuracy", "recall", "specificity", "tpr_at_fpr_5pct")
POOLED = "all"  # the name of the whole set when it is a single source


def subset_row(y: np.ndarray, p: np.ndarray, threshold: float, seed: int = 0,
               band: UncertainBand | None = None) -> dict:
    """The headline row of one subset (a source, a group), with ``false_positive_rate`` = 1 - specificity;
    a class the subset lacks has its rates None, not 0 (every row has the same columns, as CSV needs)."""
    row = headline_row(summarize(y, p, threshold, seed=seed, band=band))
    for metric, absent in (("recall", row["n_fake"] == 0), ("specificity", row["n_real"] == 0)):
        if absent:
            row[metric] = row[f"{metric}_ci_low"] = row[f"{metric}_ci_high"] = None
    return row


def per_source_rows(scored: Scored, threshold: float, seed: int = 0,
                    band: UncertainBand | None = None) -> list[dict]:
    """One headline row per source; [] for a single source."""
    sources = np.array([s.source for s in scored.samples])
    names = sorted(set(sources.tolist()) - {""})
    if len(names) < 2:
        return []
    y, p = np.asarray(scored.labels), np.asarray(scored.p_fake)
    return [{"source": name, **subset_row(y[sources == name], p[sources == name], threshold, seed, band)}
            for name in names]


def worst_real_source(rows: list[dict], metrics: dict) -> dict | None:
    """The real source with the highest false-positive rate at the stored threshold, with its interval (the
    whole set when it is one source); None without reals."""
    with_reals = [r for r in rows if r["n_real"]]
    if with_reals:
        worst = max(with_reals, key=lambda r: r["false_positive_rate"])
        return {"source": worst["source"], "n_real": worst["n_real"],
                "false_positive_rate": worst["false_positive_rate"],
                "ci95": [worst["false_positive_rate_ci_low"], worst["false_positive_rate_ci_high"]]}
    rate, ci = reals_flagged(metrics)
    if rate is None:
        return None
    return {"source": POOLED, "n_real": metrics["n_real"], "false_positive_rate": rate,
            "ci95": list(ci) if ci else None}


def per_source_section(rows: list[dict]) -> str:
    """HTML for the report: one row per source at the stored threshold."""
    banded = BAND_METRICS if "uncertain_share" in rows[0] else ()
    return ("<h2>Per source (at the stored threshold; one-class sources: recall = fakes caught, "
            "specificity = reals passed)</h2>" + rows_table(rows, "source", REPORT_METRICS + banded))
