"""Videos through the same pipeline as photos: sampled frames -> faces -> crops scored in batches -> face
tracks -> one P(fake) per video by a documented rule (docs/video.md).

Aggregation rules (``VideoOptions.aggregate``):

- ``track-mean`` (default): each face track's P(fake) is the mean over its frames; the video's is that of
  its most suspicious track. Tracks seen in fewer than ``max(2, 10%)`` of the sampled frames (a detector
  blink, a face in the crowd for one frame) only count when no track is longer. One fake face among real
  ones makes the video fake, as one fake face makes a photo fake.
- ``confident``: the rule of the DFDC winner (Seferbekov, 2020) over all face scores: if more than 11 and
  more than 40% of them exceed 0.8, the mean of those; else, if over 90% are below 0.2, the mean of those;
  else the mean of all.

No face in any frame (or ``faces="off"``): whole frames are scored, the video's P(fake) is their mean, and
the warning says so. The label uses the model's video threshold and uncertain band (``model.json``
``video_threshold`` and ``video_uncertain``, chosen on validation videos; "uncertain" inside the band, as for
photos, :mod:`deepfake_detector.inference.verdict`); a model without a video threshold uses its photo
threshold and band and says so in ``video.threshold_from``.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepfake_detector.data.video import SampledVideo, sample_frames
from deepfake_detector.errors import ImageDecodeError
from deepfake_detector.faces.locate import Located
from deepfake_detector.faces.tracks import link_tracks
from deepfake_detector.inference.analyze import locate_in, score_located
from deepfake_detector.inference.prediction import Prediction
from deepfake_detector.inference.verdict import VerdictRule

if TYPE_CHECKING:
    from deepfake_detector.inference.scorer import Scorer

AGGREGATES = ("track-mean", "confident")
NO_FACE_IN_VIDEO = "no face found in any sampled frame: scored whole frames"


@dataclass(frozen=True)
class VideoOptions:
    """How a video is sampled and summed up (``predict --frames/--fps/--aggregate``)."""

    frames: int = 32  # evenly over the duration (the DeepfakeBench / DFDC convention)
    fps: float | None = None  # instead: one frame every 1/fps seconds
    aggregate: str = "track-mean"
    max_duration_s: float | None = None  # only the first seconds (the server's limit)

    def __post_init__(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}, not {self.aggregate!r}")
        if self.frames < 1 or (self.fps is not None and not self.fps > 0):
            raise ValueError(f"frames must be >= 1 and fps > 0 (got {self.frames}, {self.fps})")


def video_verdict(predictor: Scorer) -> tuple[VerdictRule, str]:
    """The verdict rule for videos (threshold and uncertain band) and where it comes from."""
    meta = predictor.meta
    if meta.video_threshold is not None:
        band = meta.video_uncertain
        return (VerdictRule.checked(meta.video_threshold, band and (band.low, band.high), predictor.meta_file,
                                    "video_uncertain"), "video validation")
    return predictor.verdict, "photo threshold (no video threshold stored for this model)"


def details_verdict(video: dict) -> VerdictRule:
    """The rule a video Prediction was labelled with, from its ``video`` details."""
    return VerdictRule.from_meta(video)


def confident_mean(scores: np.ndarray) -> float:
    """The DFDC winner's rule (see the module docstring)."""
    fake, real = scores[scores > 0.8], scores[scores < 0.2]
    if len(fake) > 11 and len(fake) > len(scores) / 2.5:
        return float(fake.mean())
    if len(real) > 0.9 * len(scores):
        return float(real.mean())
    return float(scores.mean())


def _tracks(sampled: SampledVideo, located: list[Located], scores: list[list[float]]) -> list[dict]:
    """One row per face track: its frames (index, time, box, crop, P(fake)) and its mean P(fake)."""
    linked = link_tracks([[f.box for f in where.faces] for where in located])
    rows = []
    for track in linked:
        frames = []
        for position, face in track.detections:
            frame, where = sampled.frames[position], located[position]
            frames.append({"frame": frame.index, "time": round(frame.time_s, 3), "box": list(where.faces[face].box),
                           "crop": where.regions[face].box, "p_fake": scores[position][face]})
        rows.append({"id": track.id, "frames": frames, "p_fake": float(np.mean([f["p_fake"] for f in frames]))})
    return rows


def _aggregate(rule: str, tracks: list[dict], n_frames: int) -> float:
    if rule == "confident":
        return confident_mean(np.array([f["p_fake"] for t in tracks for f in t["frames"]]))
    long_enough = max(2, math.ceil(0.1 * n_frames))
    counted = [t for t in tracks if len(t["frames"]) >= long_enough] or tracks
    return max(t["p_fake"] for t in counted)


def predict_video(predictor: Scorer, path: str | Path, faces: str = "auto", options: VideoOptions | None = None,
                  batch_size: int = 32) -> Prediction:
    """One Prediction for a video file; an unreadable video gets ``error`` (one line naming the file)."""
    options = options or VideoOptions()
    try:
        sampled = sample_frames(path, options.frames, options.fps, options.max_duration_s)
    except ImageDecodeError as exc:  # unreadable, or over the pixel limit
        return Prediction(str(path), None, None, str(exc))
    images = [f.image for f in sampled.frames]
    with ThreadPoolExecutor(max_workers=2) as pool:  # as for photos: MTCNN in two threads
        located = list(pool.map(lambda image: locate_in(predictor, image, faces, photo=False), images))
    scores = score_located(predictor, images, located, batch_size)
    warnings = list(sampled.warnings)
    tracks = _tracks(sampled, located, scores) if faces == "auto" else []
    if tracks:
        p = _aggregate(options.aggregate, tracks, len(images))
    else:
        p = float(np.mean([s[0] for s in scores]))  # whole frames: one region each
        if faces == "auto":
            warnings.append(NO_FACE_IN_VIDEO)
    rule, source = video_verdict(predictor)
    info = sampled.info
    details = {
        "duration_s": round(info.duration_s, 3), "fps": round(info.fps, 3), "width": info.width,
        "height": info.height, "rotation": info.rotation, "codec": info.codec,
        "sampling": {"frames": options.frames, "fps": options.fps, "max_duration_s": options.max_duration_s},
        "aggregate": options.aggregate if tracks else "frame-mean", **rule.to_dict(), "threshold_from": source,
        "frames": [{"frame": f.index, "time": round(f.time_s, 3), "p_fake": max(s), "faces": len(where.faces)}
                   for f, where, s in zip(sampled.frames, located, scores, strict=True)],
        "tracks": tracks,
    }
    return Prediction(str(path), p, rule.label(p), None, None, "; ".join(warnings) or None, details)


def suspicious_faces(prediction: Prediction, k: int = 3) -> list[dict]:
    """The ``k`` face detections with the highest P(fake), most suspicious first (rows of ``video.tracks``)."""
    rows = [f | {"track": t["id"]} for t in prediction.video["tracks"] for f in t["frames"]]
    return sorted(rows, key=lambda f: -f["p_fake"])[:k]


def sampled_images(prediction: Prediction) -> dict[int, np.ndarray]:
    """The video's sampled frames again (frame number -> RGB image): sampling is deterministic, so the same
    options give the same frames (for reports and heatmaps, which need pixels the Prediction does not keep)."""
    sampling = prediction.video["sampling"]
    sampled = sample_frames(prediction.path, sampling["frames"], sampling["fps"], sampling["max_duration_s"])
    return {f.index: f.image for f in sampled.frames}
