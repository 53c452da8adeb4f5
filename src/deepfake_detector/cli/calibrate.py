"""`deepfake-detector calibrate`: choose a saved model's operating point again, without retraining."""

from __future__ import annotations

import argparse

from deepfake_detector.cli.common import positive_int, refuse_bundled
from deepfake_detector.config import FACES_ONLY, FRAMINGS
from deepfake_detector.errors import DeepfakeDetectorError
from deepfake_detector.faces.modes import FACE_MODES

BAND_OFF = "none"


def band_target(text: str) -> float | str:
    """argparse type: a target accuracy in (0.5, 1], or 'none' (no band)."""
    if text.strip().lower() == BAND_OFF:
        return "off"
    value = float(text)
    if not 0.5 < value <= 1:
        raise ValueError(text)
    return value


def cmd_calibrate(args: argparse.Namespace) -> int:
    from deepfake_detector.data.perturb import parse_perturbations
    from deepfake_detector.evaluation import parse_policy
    from deepfake_detector.evaluation.operating_point import recalibrate

    refuse_bundled(args.model, "calibrate")
    try:  # checked before the model loads
        if args.threshold is not None:
            parse_policy(args.threshold)
        parse_perturbations(args.processed_reals or [])
    except ValueError as exc:
        raise DeepfakeDetectorError(str(exc)) from None
    try:
        detector, point = recalibrate(args.model, policy=args.threshold, uncertain=args.uncertain,
                                      temperature_scaling=args.temperature, splits=args.splits, faces=args.faces,
                                      framing=args.framing, second_look=args.second_look,
                                      processed_reals=args.processed_reals,
                                      batch_size=args.batch_size, progress=not args.quiet)
    except ValueError as exc:  # e.g. a validation split holding one class only
        raise DeepfakeDetectorError(f"{args.model}: {exc}") from None
    choice = point.choice
    print(f"chosen on {point.n} validation images; written to {detector.meta_file}")
    print(f"framing: {detector.meta.framing or FACES_ONLY}")
    look = detector.meta.second_look
    print("second look: " + ("none" if look is None else f"mirrored, within {look.within} logit of a boundary "
                                                         "(chosen with every validation photo looked at twice)"))
    print(f"temperature: {'none' if point.temperature is None else f'{point.temperature:.4f}'}")
    rates = "" if choice.val_tpr is None else f": validation TPR {choice.val_tpr:.4f}, FPR {choice.val_fpr:.4f}"
    print(f"threshold: {point.threshold:.6f} ({choice.policy}){rates}")
    if point.processed_reals:
        print("  held after processing too: " + ", ".join(point.processed_reals))
    if choice.val_fpr_by_source:
        print("  FPR per real source: " + ", ".join(f"{name} {fpr:.4f}"
                                                      for name, fpr in choice.val_fpr_by_source.items()))
    band = point.band
    if band is None:
        print("uncertain: no band (the threshold alone decides)")
    else:
        print(f"uncertain: P(fake) from {band.low:.6f} to {band.high:.6f} ({band.policy}): {band.share:.2%} of "
              f"the validation images, confident verdicts right {band.confident_accuracy:.4f}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="choose a saved model's temperature, threshold and uncertain band again, "
                                         "on its own validation split (no retraining)")
    p.add_argument("model", help="model folder written by 'train' (its splits.csv gives the validation images), "
                                 "or default / fast with --splits")
    p.add_argument("--threshold", metavar="POLICY",
                   help="0.5, youden, eer, fpr:0.05 or fpr:0.02@worst-source (default: the model's own policy)")
    p.add_argument("--uncertain", type=band_target, metavar="ACCURACY",
                   help="an uncertain band whose confident verdicts are right this often on validation, e.g. "
                        f"0.98; '{BAND_OFF}' removes it (default: the model's own band target, if any)")
    p.add_argument("--temperature", action=argparse.BooleanOptionalAction, default=None,
                   help="fit a temperature on validation first, or not (default: as the model is)")
    p.add_argument("--splits", metavar="SPLITS_CSV",
                   help="take the 'valid' rows of this splits.csv instead of the model's own: images the model "
                        "never trained on")
    p.add_argument("--faces", choices=FACE_MODES,
                   help="score the validation photos as predict does with --faces (default: as the model was "
                        "calibrated before, else auto)")
    p.add_argument("--framing", choices=FRAMINGS,
                   help="how predict looks at a photo with faces: 'faces' (their crops), 'faces+image' (and the "
                        "whole photo; its score is the largest) or 'faces+image-mean' (a face filling at least half "
                        "the photo averaged with it); stored in model.json (default: as the model is)")
    p.add_argument("--second-look", action=argparse.BooleanOptionalAction, default=None,
                   help="look at a photo scored near a verdict boundary again, mirrored, and average the two looks "
                        "(stored in model.json; the point is chosen with every validation photo looked at twice; "
                        "default: as the model is)")
    p.add_argument("--processed-reals", nargs="*", metavar="KIND:S",
                   help="processing steps (evaluate --perturb specs, e.g. jpeg:50 resize:0.5 blur:1) after which "
                        "the validation reals must also meet an fpr: threshold policy, each source and step as a "
                        "source of its own; given without steps: none (default: as the model was calibrated)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_calibrate)
