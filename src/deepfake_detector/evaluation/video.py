"""Evaluate a model on a folder of videos (``real/``, ``fake/``), and choose its video threshold on one.

Videos are scored through ``predictor.predict`` (:mod:`deepfake_detector.inference.video`: sampled frames,
faces, tracks, one P(fake) per video), the same path as ``predict``. Two levels are reported, each with the
metrics of ``summary.summarize`` and 95% bootstrap intervals:

- video level: one P(fake) per video against its label, at the model's video threshold;
- frame level: every sampled frame's P(fake) (its most suspicious face) against its video's label. A video's
  frames are near-copies of each other, so the bootstrap resamples whole videos, not frames; resampling frames
  would give intervals as if each frame were an independent test case.

``set_threshold`` chooses the video threshold on the folder's videos (they must be validation videos, never
the test set) and stores it in the model's ``model.json`` as ``video_threshold`` with
``video_threshold_selection``; a model with an uncertain band for photos (``uncertain``) also gets one for
videos around the video threshold, held to the same accuracy target (``video_uncertain``, chosen by
:func:`~deepfake_detector.evaluation.uncertainty.choose_band`); nothing else in the model folder changes.
The thresholds of photos and videos differ because sampling, resizing and video compression shift the scores
(docs/video.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepfake_detector.data.inputs import walk
from deepfake_detector.data.pillow_decode import IMAGE_EXTENSIONS
from deepfake_detector.data.samples import LABEL_IDS, LABEL_NAMES, BadFile, Sample
from deepfake_detector.data.video import is_video
from deepfake_detector.errors import DatasetError
from deepfake_detector.evaluation.evaluate import Evaluation
from deepfake_detector.evaluation.plots import plot_confusion_matrix, plot_roc, plot_score_histogram
from deepfake_detector.evaluation.report import rows_table, write_report
from deepfake_detector.evaluation.summary import headline_row, summarize
from deepfake_detector.evaluation.thresholds import choose_threshold, parse_policy
from deepfake_detector.evaluation.uncertainty import BandUnreachableError, UncertainBand, choose_band, stored_band
from deepfake_detector.inference.detector import Detector
from deepfake_detector.inference.prediction import Prediction
from deepfake_detector.inference.predictor import Predictor
from deepfake_detector.inference.verdict import VerdictRule
from deepfake_detector.inference.video import VideoOptions, video_verdict
from deepfake_detector.models.artifacts import write_meta
from deepfake_detector.models.bundled import model_label, outputs_home
from deepfake_detector.utils.atomic import write_csv, write_json
from deepfake_detector.utils.owned import replaced_folder

MODEL_POLICY = "model"  # set_threshold: the model's own threshold_policy (model.json)
_LEVEL_COLUMNS = ("roc_auc", "average_precision", "eer", "accuracy", "recall", "specificity")


@dataclass
class ScoredVideos:
    """The readable videos of a folder with their predictions, and the frames they were sampled at."""

    samples: list[Sample]
    predictions: list[Prediction]
    bad: list[BadFile]

    @property
    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.samples], dtype=int)

    @property
    def p_fake(self) -> np.ndarray:
        return np.array([p.p_fake for p in self.predictions], dtype=float)

    def frames(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every sampled frame's (label, P(fake), index of its video)."""
        rows = [(s.label, f["p_fake"], i) for i, (s, p) in enumerate(zip(self.samples, self.predictions, strict=True))
                for f in p.video["frames"]]
        label, p, video = (np.array(c) for c in zip(*rows, strict=True))
        return label.astype(int), p.astype(float), video


def holds_videos(folder: str | Path) -> bool:
    """Whether ``folder`` is a video set: ``real/`` and/or ``fake/`` holding videos and no images (checked
    cheaply, so an image dataset answers at its first image)."""
    found = False
    for class_name in LABEL_IDS:
        class_dir = Path(folder) / class_name
        for file in walk(class_dir, "any") if class_dir.is_dir() else ():
            if Path(file).suffix.lower() in IMAGE_EXTENSIONS:
                return False
            found = found or is_video(file)
    return found


def find_videos(folder: str | Path) -> tuple[list[Sample], list[BadFile]]:
    """The videos under ``folder/real`` and ``folder/fake`` (labelled by their folder), and the other files."""
    root = Path(folder)
    samples, other = [], []
    for class_name, label in LABEL_IDS.items():
        class_dir = root / class_name
        if not class_dir.is_dir():
            raise DatasetError(f"{class_dir}: missing class folder (a video set needs real/ and fake/)")
        files = [Path(f) for f in walk(class_dir, "any")]  # every file: the others are listed as not videos
        videos = [Sample(f, label) for f in files if is_video(f)]
        if not videos:
            raise DatasetError(f"{class_dir}: no videos found")
        samples += videos
        other += [BadFile(str(f), f"not a video ('{f.suffix or 'no extension'}')") for f in files if not is_video(f)]
    return samples, other


def score_videos(predictor: Predictor, folder: str | Path, options: VideoOptions, batch_size: int = 32,
                 progress: bool = True, faces: str = "auto") -> ScoredVideos:
    """Predict every video of a video set as ``predict`` does; videos that cannot be read are listed in
    ``bad``, not scored."""
    samples, bad = find_videos(folder)
    predictions = predictor.predict([s.path for s in samples], batch_size=batch_size, progress=progress,
                                    faces=faces, video=options)
    kept = [(s, p) for s, p in zip(samples, predictions, strict=True) if p.error is None]
    failed = [BadFile(str(s.path), p.error) for s, p in zip(samples, predictions, strict=True) if p.error]
    if not kept:
        raise DatasetError(f"{folder}: none of its {len(samples)} videos could be read ({failed[0].reason})")
    bad += failed
    return ScoredVideos([s for s, _ in kept], [p for _, p in kept], bad)


def _sampling(options: VideoOptions, faces: str) -> dict:
    return {"frames": options.frames, "fps": options.fps, "aggregate": options.aggregate, "faces": faces}


def set_video_threshold(predictor: Predictor, scored: ScoredVideos, policy: str, options: VideoOptions,
                        data: str | Path, faces: str = "auto") -> dict:
    """Choose the video threshold on validation videos with ``policy`` (``"model"``: the model's own
    ``threshold_policy``), and the video uncertain band if the model has a photo band, and store them in the
    model's ``model.json``; returns ``video_threshold_selection``."""
    if policy == MODEL_POLICY:
        policy = predictor.meta.threshold_policy or "youden"
    y = scored.labels
    try:
        choice = choose_threshold(y, scored.p_fake, parse_policy(policy))
    except ValueError as exc:
        raise DatasetError(f"{data}: {exc} (readable videos: {int((y == 0).sum())} real, {int(y.sum())} fake)") \
            from None
    selection = {"n": len(y), "n_real": int((y == 0).sum()), "n_fake": int(y.sum()), "policy": choice.policy,
                 "val_tpr": choice.val_tpr, "val_fpr": choice.val_fpr, "data": Path(data).resolve().name,
                 **_sampling(options, faces)}
    band = None
    if (photo_band := stored_band(predictor.meta)) is not None:  # videos are held to the photo band's accuracy
        target = photo_band.target_accuracy
        try:
            band = choose_band(y, scored.p_fake, choice.threshold, target).to_dict()
        except BandUnreachableError as exc:
            raise DatasetError(f"{data}: {exc}") from None
    predictor.meta = predictor.meta.updated({"video_threshold": choice.threshold,
                                             "video_threshold_selection": selection, "video_uncertain": band})
    write_meta(predictor.meta.path, predictor.meta)  # model.json alone, written atomically
    return selection


def _level_summary(y: np.ndarray, p: np.ndarray, threshold: float, seed: int, extra: dict,
                   clusters: np.ndarray | None = None, band: UncertainBand | None = None) -> dict:
    """``summarize`` plus the false-positive rate (reals called fake) at the threshold, with its interval."""
    m = summarize(y, p, threshold, seed=seed, extra=extra, clusters=clusters, band=band)
    low, high = m["ci95"]["specificity"] or (None, None)
    m["fpr"] = 1 - m["specificity"]
    m["ci95"]["fpr"] = None if low is None else [1 - high, 1 - low]
    return m


def video_metrics(predictor: Predictor, scored: ScoredVideos, options: VideoOptions, seed: int = 0,
                  info: dict | None = None, faces: str = "auto") -> dict:
    """metrics.json: the video-level summary at the video threshold (with a band, how many videos it leaves
    uncertain), with ``frame_level`` inside."""
    rule, source = video_verdict(predictor)
    threshold = rule.threshold
    # the band the labels used: the video one once a video threshold is chosen, else the photo one
    has_own = predictor.meta.video_threshold is not None  # a video threshold of its own, chosen on videos
    stored = predictor.meta.video_uncertain if has_own else predictor.meta.uncertain
    band = UncertainBand.from_dict(stored.model_dump()) if stored else None
    selection = predictor.meta.video_threshold_selection or {}
    policy = selection.get("policy") if has_own else \
        f"photo threshold, {predictor.meta.threshold_policy or 'fixed'}"
    frame_y, frame_p, frame_video = scored.frames()
    extra = {"model": predictor.meta.path, "model_id": predictor.model_id, "inference_engine": predictor.engine,
             **(info or {}), "n_skipped": len(scored.bad), "sampling": _sampling(options, faces),
             "threshold_from": source, "threshold_policy": policy}
    metrics = _level_summary(scored.labels, scored.p_fake, threshold, seed, {"level": "video", **extra}, band=band)
    metrics["frame_level"] = _level_summary(frame_y, frame_p, threshold, seed,
                                            {"level": "frame", "n_videos": len(scored.samples)}, frame_video, band)
    return metrics


def _levels_section(metrics: dict) -> str:
    frames = metrics["frame_level"]
    rows = [{"level": "videos", **headline_row(metrics)}, {"level": "frames", **headline_row(frames)}]
    s = metrics["sampling"]
    sampled = f"one frame every {1 / s['fps']:g} s" if s["fps"] else f"{s['frames']} frames per video"
    return ("<h2>Video level and frame level</h2>"
            f"<p>{metrics['n']} videos, {frames['n']} sampled frames ({sampled}, aggregate "
            f"<b>{s['aggregate']}</b>). Frame level: each frame's P(fake) (its most suspicious face) against its "
            "video's label; its intervals resample whole videos. Threshold: "
            f"{metrics['threshold']:.4f}, from the {metrics['threshold_from']}.{_band_sentence(metrics)}</p>"
            + rows_table(rows, "level", _LEVEL_COLUMNS))


def _band_sentence(metrics: dict) -> str:
    band = metrics.get("uncertain")
    if band is None:
        return ""
    accuracy = "n/a" if band["confident_accuracy"] is None else f"{band['confident_accuracy']:.3f}"
    return (f" Uncertain from {band['low']:.4f} to {band['high']:.4f}: {band['uncertain_share']:.1%} of the "
            f"videos; the verdicts outside it are right {accuracy} of the time.")


def write_video_outputs(scored: ScoredVideos, metrics: dict, out: Path, title: str, subtitle: str) -> None:
    """metrics.json, predictions.csv (per video), frames.csv, bad_files.csv, plots and report.html in ``out``."""
    threshold = metrics["threshold"]
    rule = VerdictRule.from_meta(metrics, where=str(out / "metrics.json"))
    write_json(out / "metrics.json", metrics)
    write_csv(out / "predictions.csv", [
        {"path": str(s.path), "label": LABEL_NAMES[s.label], "p_fake": f"{p.p_fake:.6f}",
         "predicted": rule.label(p.p_fake), "frames": len(p.video["frames"]),
         "tracks": len(p.video["tracks"]), "warning": p.warning or ""}
        for s, p in zip(scored.samples, scored.predictions, strict=True)])
    write_csv(out / "frames.csv", [
        {"path": str(s.path), "label": LABEL_NAMES[s.label], "frame": f["frame"], "time": f["time"],
         "p_fake": f"{f['p_fake']:.6f}", "faces": f["faces"]}
        for s, p in zip(scored.samples, scored.predictions, strict=True) for f in p.video["frames"]])
    write_csv(out / "bad_files.csv", [{"path": b.path, "reason": b.reason} for b in scored.bad], ["path", "reason"])
    frame_y, frame_p, _ = scored.frames()
    at = metrics["at_selected"]
    plots = [plot_confusion_matrix(at["tp"], at["tn"], at["fp"], at["fn"], out / "confusion_matrix.png",
                                   title=f"Videos at threshold {threshold:.3f}"),
             plot_score_histogram(scored.labels, scored.p_fake, threshold, out / "scores.png")]
    if metrics["roc_auc"] is not None:
        plots.insert(0, plot_roc({"videos": (scored.labels, scored.p_fake), "frames": (frame_y, frame_p)},
                                 out / "roc.png"))
    write_report(out / "report.html", title=title, subtitle=subtitle, metrics=metrics, plots=plots,
                 bad_files=scored.bad, sections=(_levels_section(metrics),), unit="videos")


def evaluate_videos(model: str | Path | Predictor | None, data: str | Path, out_dir: str | Path | None = None,
                    options: VideoOptions | None = None, set_threshold: str | None = None, batch_size: int = 32,
                    progress: bool = True, seed: int = 0, faces: str = "auto") -> Evaluation:
    """Evaluate ``model`` on the video set ``data`` (``real/``, ``fake/``), each video scored as ``predict`` does
    with ``faces``; outputs in ``out_dir`` (default ``<model>/eval-videos``, ``./<name>-model/eval-videos`` for a
    bundled model), swapped in whole.

    ``set_threshold`` (a policy: ``0.5``, ``youden``, ``eer``, ``fpr:0.05``, or ``"model"`` for the model's
    own): first choose the video threshold on ``data``, which must then be *validation* videos, and store it
    in ``model.json``; the outputs are that validation set's figures, marked as such, not a test result.
    """
    # PyTorch fp32, as photos are evaluated: figures that do not depend on a CPU's bf16/int8 hardware
    predictor = model if isinstance(model, Predictor) else Detector.load(model)
    options = options or VideoOptions()
    name = model_label(predictor.meta)
    final = Path(out_dir) if out_dir is not None else outputs_home(predictor.meta) / "eval-videos"
    role = "validation: chose the video threshold" if set_threshold else "evaluation"
    with replaced_folder(final, "evaluation", protect=[data]) as tmp:
        scored = score_videos(predictor, data, options, batch_size, progress, faces)
        if set_threshold:
            set_video_threshold(predictor, scored, set_threshold, options, data, faces)
        metrics = video_metrics(predictor, scored, options, seed, {"data": str(Path(data)), "role": role}, faces)
        write_video_outputs(scored, metrics, tmp, f"Video evaluation: {name} on {Path(data).name}",
                            f"{name} · {data} · {role}")
    return Evaluation(metrics, final, scored.bad)

