"""Command line: ``deepfake-detector {train,evaluate,compare,calibrate,combine,leave-one-out,demo,predict,explain,
export,scan,serve,models}``.

One module per command group (train, evaluate, predict, serve); each imports what it needs inside its
commands, so ``--help`` and argument errors answer at once. User errors print one line (``error: ...``)
and exit with status 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from deepfake_detector.cli import calibrate, combine, demo, evaluate, leave_one_out, predict, scan, serve, train
from deepfake_detector.errors import DeepfakeDetectorError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake-detector",
                                     description="Tell real face photos from generated ones (GAN and diffusion).")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (train, evaluate, calibrate, combine, leave_one_out, demo, predict, scan, serve):
        group.add_parser(sub)
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
