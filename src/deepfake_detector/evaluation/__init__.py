"""Evaluation: metrics, thresholds, calibration, robustness and cross-dataset tests, plots and reports.

Names are imported lazily, so light modules (e.g. ``thresholds``, used by ``config``) load without torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Evaluation": "evaluate", "evaluate": "evaluate", "evaluate_samples": "evaluate",
    "binary_metrics": "metrics", "confusion_counts": "metrics", "metrics_from_confusion": "metrics",
    "choose_threshold": "thresholds", "parse_policy": "thresholds", "summarize": "summary",
    "parse_perturbations": "perturb",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
