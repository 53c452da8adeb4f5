"""What a prediction is, and the one result schema every output is derived from.

:class:`Prediction` is one input's P(fake), label, reason it failed, faces, warnings, video details, and the
file's provenance with the reason for the label; :class:`ScoredBy` is what answered it (the model, the rule
that labelled it, the engine). A result row is the fields of both, in that order: :data:`RESULT_COLUMNS`,
with their types, is read from the two dataclasses, and the CLI's CSV and JSON (``inference/writers.py``), the
server's answers (``serve/service.py``) and scan's Parquet (``scan/score.py``) are all made from it, so a
field added to either dataclass reaches every output.
"""

from __future__ import annotations

import json
import types
from dataclasses import asdict, dataclass, fields
from typing import Any, get_args, get_origin, get_type_hints

import numpy as np

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
    # the whole photo's own P(fake), when the model scores it along with its faces (model.json "framing":
    # "faces+image" or "faces+image-mean"); p_fake is made of it and the faces' (inference/regions.py). None: not
    # scored separately
    image_p_fake: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScoredBy:
    """What answered a prediction: the same for every row of one predictor, except that a video is labelled
    by the model's video rule."""

    model_id: str  # <folder name>@<first 12 hex of the weights' SHA-256>
    threshold: float  # of the rule that labelled the row
    uncertain: dict[str, float] | None  # that rule's uncertain band {"low", "high"}; None without one
    inference_engine: str  # the runtime and precision that scored (inference/engine.py); last in CSV rows


@dataclass(frozen=True)
class Column:
    name: str
    kind: type  # str, float, or list / dict: nested, one JSON text in a CSV cell or a Parquet string


def _kind(annotation: Any) -> type:
    """``float | None`` -> float, ``list[dict] | None`` -> list."""
    args = get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    base = next(a for a in args if a is not type(None))
    return get_origin(base) or base


RESULT_COLUMNS: tuple[Column, ...] = tuple(Column(f.name, _kind(get_type_hints(cls)[f.name]))
                                           for cls in (Prediction, ScoredBy) for f in fields(cls))
NESTED = frozenset(c.name for c in RESULT_COLUMNS if c.kind in (list, dict))


def result_row(prediction: Prediction, scored_by: ScoredBy) -> dict[str, Any]:
    """One result row, nested fields as Python lists and dicts (JSON outputs)."""
    return prediction.to_dict() | asdict(scored_by)


def flat_row(row: dict[str, Any]) -> dict[str, Any]:
    """A result row with each nested field as one JSON text (CSV cells, Parquet strings); None stays None."""
    return row | {k: None if row[k] is None else json.dumps(row[k], default=_plain) for k in NESTED}


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays (face boxes), as JSON numbers and lists."""
    return value.tolist() if isinstance(value, np.ndarray | np.generic) else str(value)


def verdict_counts(predictions: list[Prediction]) -> dict[str, int]:
    """How many inputs got each verdict, and how many could not be read."""
    counts = {label: sum(p.label == label for p in predictions) for label in VERDICTS}
    return counts | {"unreadable": sum(p.error is not None for p in predictions)}
