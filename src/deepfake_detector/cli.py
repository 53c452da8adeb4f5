"""Command line: ``deepfake-detector {train,evaluate,predict,models}``.

User errors print one line (``error: ...``) and exit with status 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from deepfake_detector.cli_commands import add_backend_option, add_commands, add_predict_options, predict_outputs
from deepfake_detector.errors import ConfigError, DeepfakeDetectorError


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _summary(metrics: dict) -> str:
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


def cmd_train(args: argparse.Namespace) -> int:
    from deepfake_detector.config import load_config
    from deepfake_detector.training import train

    overrides = list(args.overrides)
    if args.data:
        overrides.append(f"data.path={args.data}")
    for key in ("devices", "num_nodes", "strategy"):  # scaling flags -> train.* (docs/scaling.md)
        if getattr(args, key) is not None:
            overrides.append(f"train.{key}={getattr(args, key)}")
    cfg = load_config(args.config, overrides)
    out = Path(args.out or Path("runs") / cfg.name)
    result = train(cfg, out, resume=args.resume, overwrite=args.overwrite, progress=not args.quiet)
    if result.validation is None:  # a non-zero DDP rank: rank 0 reports
        return 0
    last = result.history[-1] if result.history else {}
    print(f"trained {cfg.name}: {len(result.history)} epochs, {last.get('train_img_per_s')} img/s (last epoch)")
    print(f"validation: {_summary(result.validation.metrics)}")
    if result.bad_files:
        print(f"skipped {len(result.bad_files)} bad file(s): see {out / 'bad_files.csv'}")
    print(f"model saved to {out}  (report: {result.validation.report})")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from deepfake_detector.evaluation import evaluate, parse_perturbations, parse_policy

    try:  # check the options before any work
        parse_perturbations(args.perturb or [])
        if args.set_threshold is not None:
            parse_policy(args.set_threshold)
    except ValueError as exc:
        raise DeepfakeDetectorError(str(exc)) from None
    if args.temperature_scaling and args.set_threshold is None:
        raise DeepfakeDetectorError("--temperature-scaling needs --set-threshold (both use validation data)")
    result = evaluate(args.model, args.data, split=args.split, out_dir=args.out, batch_size=args.batch_size,
                      progress=not args.quiet, perturb=args.perturb, set_threshold=args.set_threshold,
                      temperature_scaling=args.temperature_scaling)
    for name, run in (result.per_dataset or {"": result}).items():
        m = run.metrics
        print(f"{name + ': ' if name else ''}{_summary(m)}")
        print(f"  at 0.5: accuracy={m['at_default']['accuracy']:.4f}  stored threshold {m['threshold']:.4f}"
              f" ({m.get('threshold_policy') or 'fixed'})  eer={_fmt(m['eer'])}  ece={m['ece']:.4f}")
    if result.bad_files:
        print(f"skipped {len(result.bad_files)} bad file(s): see bad_files.csv under {result.out_dir}")
    print(f"metrics: {result.out_dir / 'metrics.json'}\nreport:  {result.report}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from deepfake_detector.inference.inputs import expand_paths
    from deepfake_detector.inference.writers import check_output_path, print_table, write_predictions

    if args.output:
        check_output_path(args.output)
    light = None
    if args.backend == "onnx" and args.faces == "off" and not (args.explain or args.report):
        from deepfake_detector.inference.onnx_predict import OnnxPredictor

        light = OnnxPredictor.open(args.model)  # torch-free; None until the export is cached
    detector = light or _load_detector(args.model, args.backend)
    files = expand_paths(args.paths)
    if not files:
        raise DeepfakeDetectorError("no image files found in the given paths")
    if light is not None:
        predictions = light.predict(files, batch_size=args.batch_size)
    else:
        predictions = detector.predict(files, batch_size=args.batch_size,
                                       progress=not args.quiet and len(files) > 64, faces=args.faces)
    print_table(predictions, limit=None if args.output is None else 20)
    if args.output:
        write_predictions(predictions, args.output, detector)
        print(f"wrote {len(predictions)} rows to {args.output}")
    predict_outputs(args, detector, predictions)
    n_bad = sum(p.error is not None for p in predictions)
    n_fake = sum(p.label == "fake" for p in predictions)
    print(f"{len(predictions)} file(s): {n_fake} fake, {len(predictions) - n_fake - n_bad} real, {n_bad} unreadable"
          f"  (threshold {detector.threshold:.3f})")
    return 0


def _load_detector(model: str | None, backend: str):
    """The Detector (torch), printing the default model's offline fallback as one warning line."""
    from deepfake_detector.inference.detector import Detector, FallbackWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FallbackWarning)
        detector = Detector.load(model, backend=backend)  # None: the bundled default model
    for w in caught:
        if issubclass(w.category, FallbackWarning):
            print(f"warning: {w.message}", file=sys.stderr)
    return detector


def cmd_export(args: argparse.Namespace) -> int:
    if not (args.onnx or args.fp16):
        raise ConfigError("export needs --onnx OUT.onnx and/or --fp16 OUT_DIR")
    if args.onnx:
        from deepfake_detector.inference import Detector
        from deepfake_detector.inference.onnx_export import export_onnx

        result = export_onnx(Detector.load(args.model, device="cpu"), args.onnx, opset=args.opset,
                             tolerance=args.tolerance)
        print(f"wrote {result.path} (opset {args.opset}, dynamic batch; max |logit diff| vs PyTorch "
              f"{result.max_abs_diff:.1e})")
    if args.fp16:
        from deepfake_detector.inference.half_export import export_half

        result = export_half(args.model, args.fp16)
        print(f"wrote {result.path} (fp16 weights; max |P(fake) diff| vs the original {result.max_abs_diff:.1e})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from deepfake_detector.compare import compare

    rows = compare(args.configs, args.data, args.out, split=args.split, overrides=list(args.overrides),
                   retrain=args.retrain, progress=not args.quiet)
    for r in rows:
        auc = "n/a" if r["roc_auc"] is None else f"{r['roc_auc']:.4f}"
        print(f"{r['name']}: accuracy={r['accuracy']:.4f} roc_auc={auc} f1={r['f1']:.4f} "
              f"train={r['train_seconds']}s predict={r['predict_img_per_s']} img/s params={r['parameters']:,}")
    print(f"table: {Path(args.out) / 'comparison.md'}  (also .csv, .html, metrics.png, roc.png)")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from deepfake_detector.models import list_models

    print("\n".join(list_models()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake-detector",
                                     description="Tell real face photos from GAN-generated ones.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a recipe (config) on a dataset")
    p.add_argument("--config", help="recipe YAML, e.g. configs/seed-cnn.yaml")
    p.add_argument("--data", help="dataset folder or CSV manifest ('kaggle' downloads the 140k dataset)")
    p.add_argument("--out", help="run folder (default runs/<name>)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="delete an existing run folder and start again")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--devices", help="devices (processes) per node: a count or 'auto' (train.devices)")
    p.add_argument("--num-nodes", type=int, help="machines taking part (train.num_nodes; see docs/scaling.md)")
    p.add_argument("--strategy", help="Lightning strategy, e.g. ddp (train.strategy)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.epochs=3")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a saved model on one or several datasets")
    p.add_argument("model", help="model folder written by 'train'")
    p.add_argument("--data", nargs="+",
                   help="dataset folder(s) or CSV manifest(s); several give a cross-dataset table "
                        "(default: the run's own saved splits, reported per source)")
    p.add_argument("--split", help="train, valid, test or all (default: test if the dataset has one, else all)")
    p.add_argument("--out", help="output folder (default <model>/eval-<split>, or <model>/eval-cross)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--perturb", nargs="+", metavar="KIND:S1,S2",
                   help="robustness suite, e.g. jpeg:95,75,50,30 resize:0.5,0.75,1.5 blur:1,2 noise:0.02")
    p.add_argument("--set-threshold", metavar="POLICY",
                   help="first choose and store the model's threshold on the VALIDATION split of the first "
                        "--data: 0.5, youden, eer or fpr:0.05")
    p.add_argument("--temperature-scaling", action="store_true",
                   help="with --set-threshold: also fit and store a temperature on validation")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="score image files, folders or globs")
    p.add_argument("paths", nargs="+", help="image files, folders (searched recursively) or glob patterns")
    p.add_argument("--model", help="model folder written by 'train' (default: the bundled default model)")
    p.add_argument("--output", help="write results to a .csv or .json file")
    add_predict_options(p)
    p.add_argument("--batch-size", type=positive_int, default=32)
    add_backend_option(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("export", help="export a saved model to ONNX and/or an fp16 copy (checked against it)")
    p.add_argument("model", help="model folder written by 'train'")
    p.add_argument("--onnx", metavar="OUT.onnx", help="ONNX file to write")
    p.add_argument("--fp16", metavar="OUT_DIR", help="model folder to write with fp16 weights (half the size)")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--tolerance", type=float, default=1e-4, help="max |logit difference| vs PyTorch (default 1e-4)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("compare", help="train several recipes on the same split and tabulate them side by side")
    p.add_argument("--configs", nargs="+", required=True, help="recipe YAMLs, e.g. configs/*.yaml")
    p.add_argument("--data", required=True, help="dataset folder or CSV manifest (the same split for all)")
    p.add_argument("--out", required=True, help="output folder: one run per config + comparison table")
    p.add_argument("--split", default="test", help="split to compare on (default test)")
    p.add_argument("--retrain", action="store_true", help="train again even if a finished run exists")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="overrides applied to every config")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("models", help="list the model names the registry can build")
    p.set_defaults(func=cmd_models)
    add_commands(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _one_line_warning  # e.g. the default model's offline fallback: one line
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DeepfakeDetectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted" + ("; continue with --resume" if args.command == "train" else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
