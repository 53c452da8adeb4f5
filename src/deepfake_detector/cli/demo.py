"""`deepfake-detector demo` (what `make demo` runs): the seed recipe trained now, the bundled model, the paper."""

from __future__ import annotations

import argparse

from deepfake_detector.cli.common import summary
from deepfake_detector.models.bundled import BUNDLED


def cmd_demo(args: argparse.Namespace) -> int:
    from deepfake_detector.experiments.demo import run_demo

    result = run_demo(args.data, args.out, config=args.config, bundled=args.model, overrides=list(args.overrides),
                      split=args.split, progress=not args.quiet)
    print(f"{result.models[0].label}, validation: {summary(result.trained.validation.metrics)}")
    for model in result.models:
        print(f"{model.label}, {model.evaluation.metrics['split']}: {summary(model.evaluation.metrics)}")
    if result.paper and result.paper.get("computed"):
        print(f"paper ({result.paper['title']}, its own test set): {summary(result.paper['computed'])}")
    print(f"report: {result.report}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train the seed recipe, test it and the bundled model, report both beside "
                                    "the paper")
    p.add_argument("--data", help="dataset folder or CSV manifest (default: download Kaggle's 140k dataset)")
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--config", default="configs/seed-cnn.yaml", help="the recipe trained now")
    p.add_argument("--model", default="default", choices=sorted(BUNDLED), help="the bundled model tested")
    p.add_argument("--split", default="test", help="the split both models are tested on (default test)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="overrides of the recipe, e.g. train.epochs=3")
    p.set_defaults(func=cmd_demo)
