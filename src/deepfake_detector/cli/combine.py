"""`deepfake-detector combine`: one detector from several saved ones (the largest of their shifted logits)."""

from __future__ import annotations

import argparse


def cmd_combine(args: argparse.Namespace) -> int:
    from deepfake_detector.models.ensemble import combine_saved_models

    offsets = args.offset if args.offset is not None else [0.0] * (len(args.models) - 1)
    views = [v.split(",") for v in args.views] if args.views else None
    out = combine_saved_models(args.models, offsets, args.out, views=views, overwrite=args.overwrite)
    print(f"combined {len(args.models)} models into {out}; choose its operating point on validation next: "
          f"deepfake-detector calibrate {out}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("combine", help="one model from several saved ones: P(fake) from the largest of their logits, "
                                       "each shifted to its own threshold (models/ensemble.py)")
    p.add_argument("models", nargs="+", help="model folders written by 'train' (or default / fast); the first gives "
                                             "the framing and the split lists")
    p.add_argument("--offset", type=float, nargs="+", metavar="LOGIT",
                   help="one per model after the first: how far below its own threshold it must be before it "
                        "can decide (larger = it speaks only when surer; default 0)")
    p.add_argument("--views", nargs="+", metavar="VIEWS",
                   help="one per model: the test-time views whose logits it averages, comma-separated, e.g. "
                        "'original original,flip,zoom0.9,zoom0.9+flip' (models/views.py; default: original)")
    p.add_argument("--out", required=True, help="folder for the combined model")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder this toolkit made")
    p.set_defaults(func=cmd_combine)
