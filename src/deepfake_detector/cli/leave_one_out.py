"""`deepfake-detector leave-one-out`: train a recipe once per left-out generator and tabulate what it catches."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_leave_one_out(args: argparse.Namespace) -> int:
    from deepfake_detector.experiments.leave_one_out import leave_one_out

    rows = leave_one_out(args.config, args.out, overrides=list(args.overrides), leave_out=args.leave_out,
                         retrain=args.retrain, progress=not args.quiet)
    out = Path(args.out)
    print((out / "leave_one_out.md").read_text(), end="")
    print(f"{len(rows) - 1} fold(s) + the all-sources reference; table: {out / 'leave_one_out.md'} "
          "(also .csv, .json); each fold's report: <fold>/eval-left-out/report.html")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leave-one-out", help="leave-one-generator-out: train without each fake source, test on it")
    p.add_argument("--config", required=True, help="recipe YAML with data.sources, e.g. configs/clip-detector.yaml")
    p.add_argument("--out", required=True, help="output folder: one run per fold + the table")
    p.add_argument("--leave-out", nargs="+", metavar="SOURCE",
                   help="sources to leave out, one fold each (default: every fakes-only source); a source with reals "
                        "too leaves only its fakes; LABEL:A+B leaves A and B out together (put key=value overrides "
                        "before this option)")
    p.add_argument("--retrain", action="store_true", help="train every fold again even if a finished run exists")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides applied to every fold")
    p.set_defaults(func=cmd_leave_one_out)
