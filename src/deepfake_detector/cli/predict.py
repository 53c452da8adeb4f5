"""`deepfake-detector predict`, `provenance`, `explain` and `export`: score images with a saved or bundled model,
or read what files declare about their origin without one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from deepfake_detector.cli.common import (
    add_backend_option,
    add_provenance_option,
    add_video_options,
    positive_int,
    video_options,
)
from deepfake_detector.errors import ConfigError, DeepfakeDetectorError
from deepfake_detector.faces.modes import FACE_MODES


def cmd_predict(args: argparse.Namespace) -> int:
    from deepfake_detector.inference.inputs import expand_paths
    from deepfake_detector.inference.loading import load_predictor
    from deepfake_detector.inference.verdict import UNCERTAIN
    from deepfake_detector.inference.writers import check_output_path, print_table, summary_line, write_predictions

    if args.output:
        check_output_path(args.output)
    detector = load_predictor(args.model, args.backend, needs_torch=bool(args.explain))
    files = expand_paths(args.paths)
    if not files:
        raise DeepfakeDetectorError("no image or video files found in the given paths")
    predictions = detector.predict(files, batch_size=args.batch_size, progress=not args.quiet and len(files) > 1,
                                   faces=args.faces, video=video_options(args),
                                   provenance=args.provenance == "on")
    print_table(predictions, limit=None if args.output is None else 20)
    if args.output:
        write_predictions(predictions, args.output, detector)
        print(f"wrote {len(predictions)} rows to {args.output}")
    predict_outputs(args, detector, predictions)
    print(summary_line(predictions, detector))
    if args.model == "fast" and any(p.label == UNCERTAIN for p in predictions):
        # its band is wide by design (held on processed real photos too); the default decides ~96% of test photos
        print("uncertain: the fast model answers only where it is sure; '--model default' (slower) decides most of "
              "the rest")
    return 0


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


def cmd_provenance(args: argparse.Namespace) -> int:
    """Provenance alone (docs/provenance.md): no model is loaded, so nothing is scored."""
    from deepfake_detector.inference.inputs import expand_paths
    from deepfake_detector.provenance.read import read_provenance
    from deepfake_detector.utils.atomic import write_csv, write_json

    files = expand_paths(args.paths)
    if not files:
        raise DeepfakeDetectorError("no image or video files found in the given paths")
    rows = [{"path": str(f), **read_provenance(f).to_dict()} for f in files]
    for r in rows:
        print(f"{r['path']}  {r['kind']}  {r['summary']}")
        for w in r["warnings"]:
            print(f"warning: {r['path']}: {w}")
    if args.output:
        out = Path(args.output)
        if out.suffix.lower() == ".csv":
            nested = [k for k, v in rows[0].items() if isinstance(v, list | dict)]
            write_csv(out, [r | {k: json.dumps(r[k]) for k in nested} for r in rows], list(rows[0]))
        elif out.suffix.lower() == ".json":
            write_json(out, {"provenance": rows})
        else:
            raise DeepfakeDetectorError(f"{out}: output must end in .csv or .json")
        print(f"wrote {len(rows)} rows to {out}")
    print(f"{len(rows)} file(s): {sum(r['declares_ai'] for r in rows)} declare AI generation, "
          f"{sum(r['kind'] == 'invalid-manifest' for r in rows)} invalid manifest(s), "
          f"{sum(not r['found'] for r in rows)} without provenance")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
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


def cmd_export(args: argparse.Namespace) -> int:
    if not (args.onnx or args.fp16):
        raise ConfigError("export needs --onnx OUT.onnx and/or --fp16 OUT_DIR")
    if args.onnx:
        from deepfake_detector.inference import Detector
        from deepfake_detector.inference.onnx_export import export_onnx

        detector = Detector.load(args.model, device="cpu")
        result = export_onnx(detector.model, detector.meta, args.onnx, opset=args.opset, tolerance=args.tolerance)
        print(f"wrote {result.path} (opset {args.opset}, dynamic batch; max |logit diff| vs PyTorch "
              f"{result.max_abs_diff:.1e})")
    if args.fp16:
        from deepfake_detector.inference.half_export import export_half

        result = export_half(args.model, args.fp16)
        print(f"wrote {result.path} (fp16 weights; max |P(fake) diff| vs the original {result.max_abs_diff:.1e})")
    return 0


def add_predict_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--faces", choices=FACE_MODES, default="auto",
                   help="auto: score every detected face (max over faces), whole image if none; off: whole image")
    p.add_argument("--explain", metavar="DIR", help="write a Grad-CAM overlay PNG per image into DIR")
    p.add_argument("--report", metavar="HTML", help="write a self-contained HTML page of the results")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="score image and video files, folders, globs or manifests")
    p.add_argument("paths", nargs="+", help="image or video files, folders (searched recursively), glob patterns, "
                                            "or manifests: .txt (one path a line), .csv or .parquet (a 'path' column)")
    p.add_argument("--model", help="model folder written by 'train' (default: the bundled default model)")
    p.add_argument("--output", help="write results to a .csv or .json file")
    add_predict_options(p)
    add_video_options(p)
    add_provenance_option(p)
    p.add_argument("--batch-size", type=positive_int, default=32)
    add_backend_option(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("provenance", help="read Content Credentials (C2PA) and generator metadata only; no model",
                       description="What each file declares about its origin, read offline (docs/provenance.md).")
    p.add_argument("paths", nargs="+", help="image or video files, folders (searched recursively) or glob patterns")
    p.add_argument("--output", help="write the findings to a .csv or .json file")
    p.set_defaults(func=cmd_provenance)

    p = sub.add_parser("explain", help="write Grad-CAM heatmaps over images (what the model looked at)")
    p.add_argument("paths", nargs="+", help="image files, folders or glob patterns")
    p.add_argument("--model", help="model folder (default: the bundled default model)")
    p.add_argument("--out", required=True, help="folder for the overlay PNGs")
    p.add_argument("--faces", choices=FACE_MODES, default="auto", help="explain each face crop, or the whole image")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("export", help="export a saved model to ONNX and/or an fp16 copy (checked against it)")
    p.add_argument("model", help="model folder written by 'train'")
    p.add_argument("--onnx", metavar="OUT.onnx", help="ONNX file to write")
    p.add_argument("--fp16", metavar="OUT_DIR", help="model folder to write with fp16 weights (half the size)")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--tolerance", type=float, default=1e-4, help="max |logit difference| vs PyTorch (default 1e-4)")
    p.set_defaults(func=cmd_export)
