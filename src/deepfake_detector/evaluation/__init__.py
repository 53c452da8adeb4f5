"""Evaluation: metrics from the confusion matrix, plots and reports."""

from deepfake_detector.evaluation.evaluate import Evaluation, evaluate, evaluate_samples
from deepfake_detector.evaluation.metrics import binary_metrics, confusion_counts, metrics_from_confusion

__all__ = ["Evaluation", "binary_metrics", "confusion_counts", "evaluate", "evaluate_samples",
           "metrics_from_confusion"]
