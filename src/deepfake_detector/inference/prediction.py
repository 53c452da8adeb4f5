"""What a prediction is: one input's P(fake), label, reason it failed, faces, warnings, video details, and the
file's provenance with the reason for the label."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from deepfake_detector.inference.verdict import VERDICTS


@dataclass
class Prediction:
    path: str | None
    p_fake: float | None
    label: str | None  # "fake", "real" or "uncertain" (inference/verdict.py); None when the file could not be read
    error: str | None = None
    # faces="auto": one {"box", "crop", "confidence", "p_fake", "label"} per face ([] = none found); None = not
    # searched
    faces: list[dict] | None = None
    warning: str | None = None  # e.g. no face found, or a face much smaller than the model input
    # videos only: sampling, per-frame scores, face tracks, aggregation rule and threshold (inference/video.py)
    video: dict | None = None
    # why the label is what it is: "provenance" (the file declares AI generation, provenance/combine.py) or
    # "detector" (the model's score); None when the file could not be read
    reason: str | None = None
    provenance: dict | None = None  # what the file says about its origin (provenance/read.py); None: not read

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict_counts(predictions: list[Prediction]) -> dict[str, int]:
    """How many inputs got each verdict, and how many could not be read."""
    counts = {label: sum(p.label == label for p in predictions) for label in VERDICTS}
    return counts | {"unreadable": sum(p.error is not None for p in predictions)}
