"""Helpers every command module shares: argument types, backend option, metric one-liners."""

from __future__ import annotations

import argparse

from deepfake_detector.errors import DeepfakeDetectorError
from deepfake_detector.inference.engine_choice import BACKENDS
from deepfake_detector.models.bundled import BUNDLED, bundled_model_dir


def refuse_bundled(model: str | None, option: str) -> None:
    """``option`` rewrites the model folder it is given: refused for a bundled model called by its name, whose folder
    is the installed package's own (every user of it would get the change, and an upgrade would undo it)."""
    if model in BUNDLED:
        raise DeepfakeDetectorError(f"{model}: {option} rewrites the model folder it is given, and the bundled "
                                    f"'{model}' model is part of the installed package; copy "
                                    f"{bundled_model_dir(model)} and use the copy")


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def summary(metrics: dict) -> str:
    auc = metrics.get("roc_auc")
    return (f"n={metrics['n']}  accuracy={metrics['accuracy']:.4f}  precision={metrics['precision']:.4f}  "
            f"recall={metrics['recall']:.4f}  f1={metrics['f1']:.4f}  "
            f"roc_auc={'n/a' if auc is None else f'{auc:.4f}'}  "
            f"[TP {metrics['tp']}  TN {metrics['tn']}  FP {metrics['fp']}  FN {metrics['fn']}]")


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (argparse turns the ValueError into a one-line usage error)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


def add_video_options(p: argparse.ArgumentParser) -> None:
    """How videos are sampled and summed up (inference/video.py, docs/video.md)."""
    p.add_argument("--frames", type=positive_int, default=32, help="frames sampled evenly per video (default 32)")
    p.add_argument("--fps", type=positive_float, help="instead of --frames: one frame every 1/FPS seconds")
    p.add_argument("--aggregate", choices=["track-mean", "confident"], default="track-mean",
                   help="video score: track-mean (the most suspicious face track's mean; default) or confident "
                        "(the DFDC winner's rule)")


def video_options(args: argparse.Namespace):
    from deepfake_detector.inference.video import VideoOptions

    return VideoOptions(frames=args.frames, fps=args.fps, aggregate=args.aggregate)


def add_provenance_option(p: argparse.ArgumentParser) -> None:
    """Provenance as a second signal (provenance/, docs/provenance.md)."""
    p.add_argument("--provenance", choices=["on", "off"], default="on",
                   help="on (default): read each file's Content Credentials (C2PA) and generator metadata first; a "
                        "declaration of AI generation makes it fake (reason 'provenance'); off: the model alone")


def add_backend_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="inference engine: auto (the default: OpenVINO bf16/int8 on a CPU with bf16/VNNI hardware, "
                        "self-tested against fp32; else ONNX Runtime or PyTorch on a CPU, PyTorch on a GPU), torch, "
                        "onnx, openvino (precision from the CPU flags) or openvino-fp32/-bf16/-int8 "
                        "(docs/cpu-engines.md; exports cached in ~/.cache/deepfake-detector)")
