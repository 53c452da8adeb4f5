"""Prediction output: result rows (the schema of ``inference/prediction.py``), an aligned table on screen, CSV
or JSON on disk (written atomically)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepfake_detector.errors import DeepfakeDetectorError
from deepfake_detector.inference.prediction import (
    RESULT_COLUMNS,
    Prediction,
    ScoredBy,
    flat_row,
    result_row,
    verdict_counts,
)
from deepfake_detector.inference.verdict import UNCERTAIN
from deepfake_detector.inference.video import details_verdict
from deepfake_detector.utils.atomic import write_csv, write_json

if TYPE_CHECKING:
    from deepfake_detector.inference.predictor import Predictor

COLUMNS = [c.name for c in RESULT_COLUMNS]  # of the CSV


def scored_by(predictor: Predictor) -> ScoredBy:
    """What answers through ``predictor``, with its photo rule."""
    return ScoredBy(predictor.model_id, **predictor.verdict.to_dict(), inference_engine=predictor.engine)


def result_rows(predictions: list[Prediction], predictor: Predictor) -> list[dict[str, Any]]:
    """The result rows of ``predictions`` made by ``predictor``; a video's names the video rule that labelled it."""
    photo = scored_by(predictor)  # once: model_id may hash the weights
    return [result_row(p, photo if p.video is None else replace(photo, **details_verdict(p.video).to_dict()))
            for p in predictions]


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
    rows = result_rows(predictions, detector)
    if path.suffix.lower() == ".csv":  # faces, video details, provenance and the band as JSON in one cell each
        write_csv(path, [flat_row(r) for r in rows], COLUMNS)
    else:
        write_json(path, {"model": detector.meta.path, "inference_engine": detector.engine,
                          "engine_note": detector.engine_note, **detector.verdict.to_dict(), "predictions": rows})


def summary_line(predictions: list[Prediction], detector: Predictor) -> str:
    """``N file(s): a fake, [b uncertain,] c real, d unreadable  (threshold ...)``; uncertain is counted when the
    model has a band or some input (a video, by its own band) was uncertain."""
    counts = verdict_counts(predictions)
    rule = detector.verdict
    shown = {k: v for k, v in counts.items() if k != UNCERTAIN or v or rule.band is not None}
    return f"{len(predictions)} file(s): {', '.join(f'{v} {k}' for k, v in shown.items())}  ({rule.describe()})"
