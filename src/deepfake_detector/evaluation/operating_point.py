"""Choose a model's operating point on its validation split: optional temperature, then a threshold, then an
optional "uncertain" band around it, in that order (each is chosen on the scores the previous one produces).

The result goes into ``model.json`` (``threshold``, ``threshold_policy``, ``temperature``,
``threshold_selection``, ``uncertain``), so ``predict`` and ``evaluate`` use it without seeing any test data.
:func:`recalibrate` chooses it again for a saved run, on the run's own validation split, without retraining.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from deepfake_detector.config import Framing
from deepfake_detector.data.perturb import Perturbation, parse_perturbations
from deepfake_detector.data.samples import Sample
from deepfake_detector.data.splits import SPLITS_FILE, read_splits
from deepfake_detector.errors import DatasetError, ModelLoadError
from deepfake_detector.evaluation.calibration import apply_temperature, fit_temperature
from deepfake_detector.evaluation.scoring import score_samples
from deepfake_detector.evaluation.thresholds import ThresholdChoice, choose_threshold, parse_policy
from deepfake_detector.evaluation.uncertainty import (
    BandUnreachableError,
    UncertainBand,
    choose_band,
    stored_band,
)
from deepfake_detector.inference.detector import Detector, FallbackWarning
from deepfake_detector.models.meta import SECOND_LOOK_WITHIN, ModelMeta


@dataclass(frozen=True)
class ProcessedReals:
    """The validation reals scored again after each of some processing steps (re-saved, resized, blurred...):
    uncalibrated P(fake) and the group each belongs to, ``<source>+<step>``, held to an ``fpr:`` policy like a
    real source of its own, so a photo's processing does not turn it into a false alarm more often than the
    policy allows."""

    p_raw: np.ndarray
    sources: list[str]
    steps: tuple[str, ...]


@dataclass(frozen=True)
class OperatingPoint:
    """What validation chose: the temperature (None: scores as trained), the threshold and the band."""

    choice: ThresholdChoice
    temperature: float | None
    n: int  # validation inputs it was chosen on (0: a fixed threshold, chosen on none)
    band: UncertainBand | None = None
    faces: str = "auto"  # how the validation photos were scored (predict's --faces)
    processed_reals: tuple[str, ...] = ()  # the steps whose processed validation reals the threshold also held

    @property
    def threshold(self) -> float:
        return self.choice.threshold

    def to_meta(self) -> dict[str, Any]:
        """The model.json fields."""
        selection = None  # a fixed threshold is chosen on no data
        if self.n:
            selection = {"split": "valid", "n": self.n, "faces": self.faces, "val_tpr": self.choice.val_tpr,
                         "val_fpr": self.choice.val_fpr}
            if self.choice.val_fpr_by_source is not None:
                selection["val_fpr_by_source"] = self.choice.val_fpr_by_source
            if self.processed_reals:
                selection["processed_reals"] = list(self.processed_reals)
        return {"threshold": self.threshold, "threshold_policy": self.choice.policy, "temperature": self.temperature,
                "threshold_selection": selection, "uncertain": self.band.to_dict() if self.band else None}


def operating_point(y: np.ndarray, p_raw: np.ndarray, policy: str | float, temperature_scaling: bool, *,
                    sources: Sequence[str] | None = None, uncertain: float | None = None,
                    require_band: bool = False, faces: str = "auto",
                    processed: ProcessedReals | None = None) -> OperatingPoint:
    """The operating point from validation labels, *uncalibrated* P(fake) and (for ``@worst-source``
    policies) each sample's source. ``uncertain``: the band's target accuracy; a target no band reaches
    raises with ``require_band``, else warns and leaves the model without a band (a finished training run
    is kept; ``deepfake-detector calibrate`` can try another target). ``processed``: validation reals after
    processing steps, which the threshold must hold to the ``fpr:`` policy too (temperature and band are
    chosen on the photos as they are)."""
    temperature = fit_temperature(y, p_raw) if temperature_scaling else None

    def calibrated(scores: np.ndarray) -> np.ndarray:
        return apply_temperature(scores, temperature) if temperature else scores

    p = calibrated(p_raw)
    choice = choose_threshold(y, p, policy, sources)
    if processed is not None:
        if not parse_policy(policy).startswith("fpr:"):
            raise ValueError(f"processed reals are held to a false-positive-rate policy (fpr:...), not '{policy}'")
        with_processed = choose_threshold(np.concatenate([y, np.zeros(len(processed.p_raw), dtype=int)]),
                                          np.concatenate([p, calibrated(processed.p_raw)]), policy,
                                          [*(sources or [""] * len(y)), *processed.sources])
        # the pooled rate reported is the photos' as they are; every group's, processed ones too, is by source
        choice = replace(with_processed, val_fpr=float(np.mean(p[np.asarray(y) == 0] >= with_processed.threshold)))
    band = None
    if uncertain is not None:
        try:
            band = choose_band(y, p, choice.threshold, uncertain)
        except BandUnreachableError as exc:
            if require_band:
                raise
            warnings.warn(f"{exc}; the model keeps no uncertain band", stacklevel=2)
    return OperatingPoint(choice, temperature, len(y), band, faces, processed.steps if processed else ())


def calibrate_detector(detector: Detector, valid: list[Sample], policy: str | float, *,
                       temperature_scaling: bool = False, uncertain: float | None = None,
                       require_band: bool = False, faces: str = "auto", batch_size: int = 64,
                       progress: bool = True, processed_reals: Sequence[Perturbation] = ()) -> OperatingPoint:
    """Score ``valid`` as ``predict`` does with ``faces`` (temperature reset to 1; every photo with the model's
    second look, if it has one), pick the operating point and apply it to ``detector``. ``processed_reals``:
    processing steps whose validation reals the threshold must also hold to the policy (:class:`ProcessedReals`)."""
    policy = parse_policy(policy)
    if not temperature_scaling and uncertain is None and policy[0].isdigit():  # no validation scores needed
        point = OperatingPoint(choose_threshold([], [], policy), None, 0)
    else:
        detector.temperature = 1.0
        with detector.looking_twice_everywhere():  # who gets a second look depends on the point being chosen
            scored = score_samples(detector, valid, faces=faces, batch_size=batch_size, progress=progress)
            processed = (_score_processed_reals(detector, scored.samples, processed_reals, faces=faces,
                                                batch_size=batch_size, progress=progress)
                         if processed_reals else None)
        point = operating_point(scored.labels, scored.p_fake, policy, temperature_scaling,
                                sources=[s.source for s in scored.samples], uncertain=uncertain,
                                require_band=require_band, faces=faces, processed=processed)
    detector.threshold = point.threshold
    detector.temperature = point.temperature or 1.0
    detector.meta = detector.meta.updated(point.to_meta())
    return point


def _score_processed_reals(detector: Detector, samples: list[Sample], steps: Sequence[Perturbation], *,
                           faces: str, batch_size: int, progress: bool) -> ProcessedReals:
    """The real ``samples`` scored after each processing step, as ``predict`` scores them."""
    reals = [s for s in samples if s.label == 0]
    scores, groups = [], []
    for step in steps:
        scored = score_samples(detector, reals, faces=faces, batch_size=batch_size, progress=progress, perturb=step)
        scores.append(scored.p_fake)
        groups += [f"{s.source}+{step.name}" for s in scored.samples]
    return ProcessedReals(np.concatenate(scores), groups, tuple(step.name for step in steps))


def stored_band_target(meta: ModelMeta) -> float | None:
    """The target accuracy of the band stored in a model.json, if it has one."""
    band = stored_band(meta)
    return band.target_accuracy if band else None


def recalibrate(model: str | Path, *, policy: str | None = None,
                uncertain: float | Literal["off"] | None = None, temperature_scaling: bool | None = None,
                splits: str | Path | None = None, faces: str | None = None, framing: Framing | None = None,
                second_look: bool | None = None, processed_reals: Sequence[str] | None = None,
                batch_size: int = 64, progress: bool = True) -> tuple[Detector, OperatingPoint]:
    """Choose a saved model's operating point again on its own validation split and rewrite its model.json
    (atomically; the weights stay as they are).

    ``None`` keeps what the model has: its ``threshold_policy``, its band's target, whether it is
    temperature-scaled, how its validation photos were scored (``faces``), how it frames a photo (``framing``,
    stored with the new operating point), whether it looks twice at a photo near a boundary (``second_look``:
    model.json ``second_look``, reaching :data:`SECOND_LOOK_WITHIN` logits), which processing steps the threshold
    holds the validation reals to the policy after (``processed_reals``: perturbation specs such as ``jpeg:50``;
    ``[]``: none); ``uncertain="off"`` removes the band.
    ``splits``: another ``splits.csv`` whose ``valid`` rows to use (default: the run's own); they must be images
    the model was not trained on.
    """
    with warnings.catch_warnings():  # the default model without its encoder: never rewrite the fast one instead
        warnings.simplefilter("error", FallbackWarning)
        try:
            detector = Detector.load(model)
        except FallbackWarning as exc:
            raise ModelLoadError(f"{model}: not calibrated ({exc})") from None
    meta = detector.meta
    split_file = Path(splits) if splits is not None else Path(meta.path or ".") / SPLITS_FILE
    if not split_file.is_file():
        raise DatasetError(f"{split_file}: no split lists to take the validation images from; pass --splits with the "
                           "splits.csv of a run whose validation images this model never trained on")
    valid = read_splits(split_file).get("valid") or []
    if not valid:
        raise DatasetError(f"{split_file}: holds no validation images")
    policy = policy or meta.threshold_policy or str(meta.threshold)
    target = stored_band_target(meta) if uncertain is None else None if uncertain == "off" else uncertain
    if temperature_scaling is None:
        temperature_scaling = meta.temperature is not None
    faces = faces or (meta.threshold_selection and meta.threshold_selection.faces) or "auto"
    if processed_reals is None:
        processed_reals = (meta.threshold_selection and meta.threshold_selection.processed_reals) or []
    steps = parse_perturbations(list(processed_reals))
    before = meta.temperature
    if framing is not None:
        detector.meta = detector.meta.updated({"framing": framing})
    if second_look is not None:
        detector.meta = detector.meta.updated({"second_look": {"within": SECOND_LOOK_WITHIN} if second_look else None})
    point = calibrate_detector(detector, valid, policy, temperature_scaling=temperature_scaling,
                               uncertain=target, require_band=True, faces=faces, batch_size=batch_size,
                               progress=progress, processed_reals=steps)
    detector.save_meta()
    if meta.video_threshold is not None and point.temperature != before:  # video scores are temperature-scaled too
        warnings.warn(f"{meta.path}: the temperature changed, so the stored video threshold no longer fits; "
                      "choose it again with 'evaluate --data VIDEOS --set-video-threshold'", stacklevel=2)
    return detector, point
