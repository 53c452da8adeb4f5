"""Evaluation: metrics, thresholds, calibration, robustness and cross-dataset tests, plots and reports."""

from deepfake_detector.data.perturb import parse_perturbations
from deepfake_detector.evaluation.evaluate import Evaluation, evaluate, evaluate_samples
from deepfake_detector.evaluation.metrics import binary_metrics, confusion_counts, metrics_from_confusion
from deepfake_detector.evaluation.summary import summarize
from deepfake_detector.evaluation.thresholds import choose_threshold, parse_policy

__all__ = ["Evaluation", "binary_metrics", "choose_threshold", "confusion_counts", "evaluate", "evaluate_samples",
           "metrics_from_confusion", "parse_perturbations", "parse_policy", "summarize"]
