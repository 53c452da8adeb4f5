"""`deepfake-detector evaluate` and `compare`: metrics, reports, and recipes side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from deepfake_detector.cli.common import add_video_options, fmt, positive_int, refuse_bundled, summary, video_options
from deepfake_detector.errors import DeepfakeDetectorError
from deepfake_detector.faces.modes import FACE_MODES


def _with_ci(metrics: dict, key: str) -> str:
    ci = metrics["ci95"].get(key)
    return fmt(metrics[key]) + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "")


def cmd_evaluate_videos(args: argparse.Namespace) -> int:
    """A --data folder of videos: video- and frame-level metrics, optionally choosing the video threshold first."""
    from deepfake_detector.evaluation import parse_policy
    from deepfake_detector.evaluation.video import MODEL_POLICY, evaluate_videos

    image_only = [flag for flag, value in (("--split", args.split), ("--perturb", args.perturb),
                                           ("--shortcuts", args.shortcuts is not None),
                                           ("--set-threshold", args.set_threshold),
                                           ("--temperature-scaling", args.temperature_scaling)) if value]
    if image_only or len(args.data) > 1:
        raise DeepfakeDetectorError(f"{args.data[0]}: a video folder is evaluated alone and without "
                                    f"{', '.join(image_only) or 'other --data sets'}")
    if args.set_video_threshold is not None:
        refuse_bundled(args.model, "--set-video-threshold")
    if args.set_video_threshold not in (None, MODEL_POLICY):
        try:
            parse_policy(args.set_video_threshold)
        except ValueError as exc:
            raise DeepfakeDetectorError(str(exc)) from None
    result = evaluate_videos(args.model, args.data[0], args.out, video_options(args), args.set_video_threshold,
                             args.batch_size, progress=not args.quiet, faces=args.faces)
    m, frames = result.metrics, result.metrics["frame_level"]
    print(f"videos: {summary(m)}")
    print(f"  video roc_auc={_with_ci(m, 'roc_auc')}  frame roc_auc={_with_ci(frames, 'roc_auc')} "
          f"({frames['n']} frames)")
    print(f"  at video threshold {m['threshold']:.4f} from the {m['threshold_from']}: "
          f"accuracy={_with_ci(m, 'accuracy')}  recall={_with_ci(m, 'recall')}  fpr={_with_ci(m, 'fpr')}")
    if "uncertain" in m:
        band = m["uncertain"]
        print(f"  uncertain from {band['low']:.4f} to {band['high']:.4f}: {band['uncertain_share']:.1%} of the "
              f"videos, verdicts outside it right {fmt(band['confident_accuracy'])}")
    if args.set_video_threshold is not None:
        print(f"video threshold chosen on these {m['n']} validation videos ({m['threshold_policy']}), stored in "
              f"{m['model']}/model.json: the figures above are validation figures, not a test result")
    _print_outputs(result)
    return 0


def _print_shortcuts(result: dict) -> None:
    """One line per history: the pooled reals' FPR before and after it, and the flag."""
    for r in (r for r in result["rows"] if r["reals"] == "all"):
        flag = "  RAISES THE FPR" if r["raises_fpr"] else ""
        print(f"  shortcut {r['history']}: fpr {r['fpr_original']:.4f} -> {r['fpr_perturbed']:.4f} (change "
              f"{r['fpr_change']:+.4f} [{r['fpr_change_ci_low']:+.4f}, {r['fpr_change_ci_high']:+.4f}], "
              f"{r['n']} reals){flag}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from deepfake_detector.data.histories import HISTORIES, parse_histories
    from deepfake_detector.evaluation import evaluate, parse_perturbations, parse_policy
    from deepfake_detector.evaluation.video import holds_videos

    if args.data and any(holds_videos(d) for d in args.data):
        return cmd_evaluate_videos(args)
    if args.set_video_threshold is not None:
        raise DeepfakeDetectorError("--set-video-threshold needs a --data folder of videos (real/, fake/)")
    try:  # check the options before any work
        parse_perturbations(args.perturb or [])
        parse_histories(args.shortcuts or [])
        if args.set_threshold is not None:
            parse_policy(args.set_threshold)
    except ValueError as exc:
        raise DeepfakeDetectorError(str(exc)) from None
    if args.set_threshold is not None:
        refuse_bundled(args.model, "--set-threshold")
    if args.temperature_scaling and args.set_threshold is None:
        raise DeepfakeDetectorError("--temperature-scaling needs --set-threshold (both use validation data)")
    # The shortcut check belongs to model selection: on the validation split unless --split says otherwise.
    split = args.split or ("valid" if args.shortcuts is not None else None)
    shortcuts = None if args.shortcuts is None else (args.shortcuts or list(HISTORIES))
    result = evaluate(args.model, args.data, split=split, out_dir=args.out, batch_size=args.batch_size,
                      progress=not args.quiet, perturb=args.perturb, set_threshold=args.set_threshold,
                      temperature_scaling=args.temperature_scaling, shortcuts=shortcuts, faces=args.faces)
    for name, run in (result.per_dataset or {"": result}).items():
        m = run.metrics
        print(f"{name + ': ' if name else ''}{summary(m)}")
        print(f"  at 0.5: accuracy={m['at_default']['accuracy']:.4f}  stored threshold {m['threshold']:.4f}"
              f" ({m.get('threshold_policy') or 'fixed'})  eer={fmt(m['eer'])}  ece={m['ece']:.4f}")
        _print_worst_and_band(m)
        if "shortcuts" in m:
            _print_shortcuts(m["shortcuts"])
        _print_robustness(run.robustness)
    _print_outputs(result)
    return 0


def _print_robustness(rows: list[dict]) -> None:
    """One line per processing step (both classes alike), at the stored threshold and band; intervals in the CSV."""
    for r in rows:
        band = "" if r.get("uncertain_share") is None else f"  uncertain={r['uncertain_share']:.4f}"
        caught = "" if not r["n_fake"] else f"  fakes caught={r['recall']:.4f}"
        flagged = "" if not r["n_real"] else f"  reals flagged={r['false_positive_rate']:.4f}"
        print(f"  processed {r['perturbation']:<12} roc_auc={fmt(r['roc_auc'])}{caught}{flagged}{band}")


def _interval(ci: list[float] | None) -> str:
    return f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""


def _print_worst_and_band(m: dict) -> None:
    """The real source with the most false positives, and how much the model's uncertain band holds."""
    worst = m.get("worst_real_source")
    if worst:
        print(f"  worst real source: {worst['source']} fpr={worst['false_positive_rate']:.4f}"
              f"{_interval(worst['ci95'])} ({worst['n_real']} real images)")
    band = m.get("uncertain")
    if band:
        print(f"  uncertain: share={band['uncertain_share']:.4f}{_interval(band['ci95'].get('uncertain_share'))}  "
              f"confident accuracy={fmt(band['confident_accuracy'])}"
              f"{_interval(band['ci95'].get('confident_accuracy'))}  (P(fake) {band['low']:.4f} to {band['high']:.4f})")
    else:
        print("  uncertain: no band (the model's threshold alone decides)")


def _print_outputs(result) -> None:
    """Where an evaluation wrote its files, and how many inputs it skipped."""
    if result.bad_files:
        print(f"skipped {len(result.bad_files)} bad file(s): see bad_files.csv under {result.out_dir}")
    print(f"metrics: {result.out_dir / 'metrics.json'}\nreport:  {result.report}")


def cmd_compare(args: argparse.Namespace) -> int:
    from deepfake_detector.experiments.compare import compare

    rows = compare(args.configs, args.data, args.out, split=args.split, overrides=list(args.overrides),
                   retrain=args.retrain, progress=not args.quiet)
    for r in rows:
        auc = "n/a" if r["roc_auc"] is None else f"{r['roc_auc']:.4f}"
        print(f"{r['name']}: accuracy={r['accuracy']:.4f} roc_auc={auc} f1={r['f1']:.4f} "
              f"train={r['train_seconds']}s predict={r['predict_img_per_s']} img/s params={r['parameters']:,}")
    print(f"table: {Path(args.out) / 'comparison.md'}  (also .csv, .html, metrics.png, roc.png)")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a saved model on one or several datasets")
    p.add_argument("model", help="model folder written by 'train'")
    p.add_argument("--data", nargs="+",
                   help="dataset folder(s) or CSV manifest(s); several give a cross-dataset table "
                        "(default: the run's own saved splits, reported per source); a folder whose real/ and "
                        "fake/ hold videos is evaluated per video and per frame")
    p.add_argument("--split", help="train, valid, test or all (default: test if the dataset has one, else all)")
    p.add_argument("--out", help="output folder (default <model>/eval-<split>, or <model>/eval-cross; for "
                   "a bundled model ./<name>-model/eval-...)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--faces", choices=FACE_MODES, default="auto",
                   help="as in predict (recorded in metrics.json): auto: score every detected face (max over faces), "
                        "whole image if none; off: the whole image")
    p.add_argument("--perturb", nargs="+", metavar="KIND:S1,S2",
                   help="robustness suite, e.g. jpeg:95,75,50,30 resize:0.5,0.75,1.5 blur:1,2 noise:0.02")
    p.add_argument("--shortcuts", nargs="*", metavar="HISTORY",
                   help="shortcut check: put the real photos through each fake source's processing history "
                        "(e.g. sdxl-tile sd21; none named: all, see docs/generalisation.md) and compare their "
                        "false-positive rate with the originals'; on the validation split unless --split is given")
    p.add_argument("--set-threshold", metavar="POLICY",
                   help="first choose and store the model's threshold on the VALIDATION split of the first "
                        "--data: 0.5, youden, eer, fpr:0.05 or fpr:0.02@worst-source (a model with an uncertain "
                        "band gets it chosen again around the new threshold)")
    p.add_argument("--temperature-scaling", action="store_true",
                   help="with --set-threshold: also fit and store a temperature on validation")
    p.add_argument("--set-video-threshold", nargs="?", const="model", metavar="POLICY",
                   help="--data is a folder of VALIDATION videos: choose the video threshold on it and store it "
                        "in the model's model.json (POLICY as for --set-threshold; default: the model's own)")
    add_video_options(p)  # a --data folder of videos (real/, fake/ holding video files) is evaluated per video
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("compare", help="train several recipes on the same split and tabulate them side by side")
    p.add_argument("--configs", nargs="+", required=True, help="recipe YAMLs, e.g. configs/*.yaml")
    p.add_argument("--data", required=True, help="dataset folder or CSV manifest (the same split for all)")
    p.add_argument("--out", required=True, help="output folder: one run per config + comparison table")
    p.add_argument("--split", default="test", help="split to compare on (default test)")
    p.add_argument("--retrain", action="store_true", help="train again even if a finished run exists")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="overrides applied to every config")
    p.set_defaults(func=cmd_compare)
