"""The seed papers' published figures (SPEC.md), for side-by-side comparison in reports.

Paper 1's derived metrics are recomputed from its own confusion matrix, as ours are, with 95%
intervals from the same class-stratified bootstrap; its stated accuracy (0.918) contradicts that
matrix (0.946) and is kept only as a note.
"""

from __future__ import annotations

from deepfake_detector.evaluation.bootstrap import confusion_cis
from deepfake_detector.evaluation.metrics import metrics_from_confusion

PAPERS: dict[str, dict] = {
    "seed-cnn": {
        "title": "Seed paper 1: custom CNN trained from scratch",
        "confusion": {"tp": 6982, "tn": 7018, "fp": 200, "fn": 600},
        "stated": {"precision": 0.972, "recall": 0.920, "f1": 0.945, "val_accuracy": 0.9572,
                   "accuracy (stated in text)": 0.918},
    },
    "seed-xception": {
        "title": "Seed paper 2: Xception transfer learning",
        "confusion": None,
        "stated": {"train_loss": 0.0458, "train_accuracy": 0.9856, "val_loss": 0.1232,
                   "val_accuracy": 0.9511, "accuracy": 0.95, "precision (per class)": "0.94-0.95",
                   "recall (per class)": "0.94-0.95", "f1 (per class)": "0.94-0.95"},
    },
}


def paper_reference(key: str | None) -> dict | None:
    """The paper's figures, with metrics (and CIs) recomputed from its confusion matrix where it gives one."""
    if key not in PAPERS:
        return None
    ref = dict(PAPERS[key])
    if ref["confusion"]:
        ref["computed"] = metrics_from_confusion(**ref["confusion"])
        ref["ci95"] = confusion_cis(**ref["confusion"])
    return ref
