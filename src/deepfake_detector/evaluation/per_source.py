"""Results per data source: a mix of generators and real photo sets is judged source by source.

A single ROC-AUC over a mix hides the generator a detector misses. Each source gets its own row: on a
source with both classes every metric; on a one-class source the meaningful ones, recall (= fakes caught)
for fakes and specificity (1 - false-positive rate) for reals, each with its bootstrap 95% interval.
"""

from __future__ import annotations

import numpy as np

from deepfake_detector.evaluation.report import rows_table
from deepfake_detector.evaluation.scoring import Scored
from deepfake_detector.evaluation.summary import headline_row, summarize

REPORT_METRICS = ("roc_auc", "accuracy", "recall", "specificity", "tpr_at_fpr_5pct")


def per_source_rows(scored: Scored, threshold: float, seed: int = 0) -> list[dict]:
    """One headline row per source (with ``false_positive_rate`` = 1 - specificity); [] for a single source."""
    sources = np.array([s.source for s in scored.samples])
    names = sorted(set(sources.tolist()) - {""})
    if len(names) < 2:
        return []
    y, p = np.asarray(scored.labels), np.asarray(scored.p_fake)
    rows = []
    for name in names:
        mask = sources == name
        row = {"source": name, **headline_row(summarize(y[mask], p[mask], threshold, seed=seed))}
        for metric, absent in (("recall", row["n_fake"] == 0), ("specificity", row["n_real"] == 0)):
            if absent:  # a one-class source: the other class's rate is undefined, not 0
                row[metric] = row[f"{metric}_ci_low"] = row[f"{metric}_ci_high"] = None
        if row["specificity"] is not None:
            row["false_positive_rate"] = 1 - row["specificity"]
            low, high = row["specificity_ci_low"], row["specificity_ci_high"]
            row["false_positive_rate_ci_low"] = None if high is None else 1 - high
            row["false_positive_rate_ci_high"] = None if low is None else 1 - low
        rows.append(row)
    return rows


def per_source_section(rows: list[dict]) -> str:
    """HTML for the report: one row per source at the stored threshold."""
    return ("<h2>Per source (at the stored threshold; one-class sources: recall = fakes caught, "
            "specificity = reals passed)</h2>" + rows_table(rows, "source", REPORT_METRICS))
