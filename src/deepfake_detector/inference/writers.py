"""Prediction output: an aligned table on screen, CSV or JSON on disk (written atomically)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from deepfake_detector.errors import DeepfakeDetectorError
from deepfake_detector.inference.prediction import Prediction, verdict_counts
from deepfake_detector.inference.verdict import UNCERTAIN
from deepfake_detector.utils.atomic import write_csv, write_json

if TYPE_CHECKING:
    from deepfake_detector.inference.predictor import Predictor

# inference_engine: the runtime and precision that scored (inference/engine.py), the same on every row
COLUMNS = ["path", "p_fake", "label", "error", "warning", "faces", "video", "reason", "provenance", "inference_engine"]


def print_table(predictions: list[Prediction], limit: int | None = None) -> None:
    shown = predictions if limit is None else predictions[:limit]
    width = min(70, max([len(p.path or "") for p in shown] + [4]))
    print(f"{'path':<{width}}  {'P(fake)':>7}  label")
    for p in shown:
        path = p.path if len(p.path or "") <= width else "…" + p.path[-width + 1:]
        score = f"{p.p_fake:7.4f}" if p.p_fake is not None else "      —"
        by = " (provenance)" if p.reason == "provenance" else ""
        print(f"{path:<{width}}  {score}  {p.label + by if p.label else 'error: ' + (p.error or '')}")
    if limit is not None and len(predictions) > limit:
        print(f"... and {len(predictions) - limit} more")


OUTPUT_SUFFIXES = (".csv", ".json")


def check_output_path(path: str | Path) -> Path:
    """Refuse an output name we cannot write before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise DeepfakeDetectorError(f"{path}: output must end in .csv or .json")
    if path.is_dir():
        raise DeepfakeDetectorError(f"{path}: is a folder; give a .csv or .json file name")
    return path


def write_predictions(predictions: list[Prediction], path: str | Path, detector: Predictor) -> None:
    path = check_output_path(path)
    rows = [p.to_dict() for p in predictions]
    if path.suffix.lower() == ".csv":  # faces, video details and provenance as JSON in one cell each
        nested = ("faces", "video", "provenance")
        engine = {"inference_engine": detector.engine}
        write_csv(path, [r | engine | {k: None if r[k] is None else json.dumps(r[k]) for k in nested} for r in rows],
                  COLUMNS)
    else:
        write_json(path, {"model": detector.meta.get("path"), "inference_engine": detector.engine,
                          "engine_note": detector.engine_note, **detector.verdict.to_dict(), "predictions": rows})


def summary_line(predictions: list[Prediction], detector: Predictor) -> str:
    """``N file(s): a fake, [b uncertain,] c real, d unreadable  (threshold ...)``; uncertain is counted when the
    model has a band or some input (a video, by its own band) was uncertain."""
    counts = verdict_counts(predictions)
    rule = detector.verdict
    shown = {k: v for k, v in counts.items() if k != UNCERTAIN or v or rule.band is not None}
    return f"{len(predictions)} file(s): {', '.join(f'{v} {k}' for k, v in shown.items())}  ({rule.describe()})"
