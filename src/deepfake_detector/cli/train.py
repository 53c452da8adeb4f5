"""`deepfake-detector train`: fit a recipe, save the model folder, print the validation summary."""

from __future__ import annotations

import argparse
from pathlib import Path

from deepfake_detector.cli.common import summary


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
    if cfg.train.head_fit == "logistic":
        print(f"trained {cfg.name}: head solved as a logistic regression (C={cfg.train.head_c})")
    else:
        last = result.history[-1] if result.history else {}
        print(f"trained {cfg.name}: {len(result.history)} epochs, {last.get('train_img_per_s')} img/s (last epoch)")
    print(f"validation: {summary(result.validation.metrics)}")
    if result.bad_files:
        print(f"skipped {len(result.bad_files)} bad file(s): see {out / 'bad_files.csv'}")
    print(f"model saved to {out}  (report: {result.validation.report})")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
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
