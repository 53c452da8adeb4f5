"""The ``explain`` and ``serve`` commands and predict's ``--faces/--explain/--report`` options."""

from __future__ import annotations

import argparse
from pathlib import Path

from deepfake_detector.faces.modes import FACE_MODES


def add_predict_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--faces", choices=FACE_MODES, default="auto",
                   help="auto: score every detected face (max over faces), whole image if none; off: whole image")
    p.add_argument("--explain", metavar="DIR", help="write a Grad-CAM overlay PNG per image into DIR")
    p.add_argument("--report", metavar="HTML", help="write a self-contained HTML page of the results")


def add_backend_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto",
                   help="inference engine: auto (ONNX Runtime on a CPU, PyTorch on a GPU; the default), torch, "
                        "or onnx (its export is cached in ~/.cache/deepfake-detector)")


def predict_outputs(args: argparse.Namespace, detector, predictions: list) -> None:
    """Print the results' warnings; write what ``--explain`` and ``--report`` ask for."""
    warned = [p for p in predictions if p.warning]
    for p in warned[:10]:
        print(f"warning: {p.path}: {p.warning}")
    if len(warned) > 10:
        print(f"... and {len(warned) - 10} more warning(s)")
    heatmaps = None
    if args.explain:
        from deepfake_detector.explain import write_explanations

        heatmaps = write_explanations(detector, predictions, args.explain)
        print(f"wrote {len(heatmaps)} heatmap(s) to {args.explain}")
    if args.report:
        from deepfake_detector.inference.html_report import write_html_report

        print(f"report: {write_html_report(args.report, predictions, detector, heatmaps)}")


def cmd_explain(args: argparse.Namespace) -> int:
    from deepfake_detector.errors import DeepfakeDetectorError
    from deepfake_detector.explain import write_explanations
    from deepfake_detector.inference import Detector, expand_paths

    detector = Detector.load(args.model, device="cpu")
    files = expand_paths(args.paths)
    if not files:
        raise DeepfakeDetectorError("no image files found in the given paths")
    predictions = detector.predict(files, faces=args.faces)
    written = write_explanations(detector, predictions, args.out)
    for i, p in enumerate(predictions):
        note = f"-> {written[i]}" if i in written else f"error: {p.error}"
        print(f"{p.path}  {p.p_fake if p.p_fake is None else round(p.p_fake, 4)}  {p.label or ''}  {note}")
    print(f"wrote {len(written)} heatmap(s) to {Path(args.out)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from deepfake_detector.serve import run_server

    run_server(args.model, host=args.host, port=args.port, threads=args.threads, backend=args.backend)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``explain`` and ``serve``."""
    p = sub.add_parser("explain", help="write Grad-CAM heatmaps over images (what the model looked at)")
    p.add_argument("paths", nargs="+", help="image files, folders or glob patterns")
    p.add_argument("--model", help="model folder (default: the bundled default model)")
    p.add_argument("--out", required=True, help="folder for the overlay PNGs")
    p.add_argument("--faces", choices=FACE_MODES, default="auto", help="explain each face crop, or the whole image")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("serve", help="HTTP API (POST /v1/predict) and an upload page at /")
    p.add_argument("--model", help="model folder (default: the bundled default model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--threads", type=int, default=None, help="torch threads for inference (default: all cores)")
    add_backend_option(p)
    p.set_defaults(func=cmd_serve)
