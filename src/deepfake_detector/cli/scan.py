"""`deepfake-detector scan`: score millions of images into sharded Parquet, resumable; locally or on Ray."""

from __future__ import annotations

import argparse

from deepfake_detector.cli.common import add_backend_option, add_provenance_option, positive_int
from deepfake_detector.errors import ConfigError
from deepfake_detector.faces.modes import FACE_MODES
from deepfake_detector.scan import DEFAULT_SHARD_SIZE


def cmd_scan(args: argparse.Namespace) -> int:
    from deepfake_detector.scan.summary import format_summary, read_summary

    if args.summary:
        print(format_summary(read_summary(args.summary)))
        return 0
    if not args.roots or not args.out:
        raise ConfigError("scan needs ROOT... and --out DIR (or --summary DIR)")
    from deepfake_detector.scan import scan

    out = scan(args.roots, args.out, args.model, backend=args.backend, faces=args.faces, engine=args.engine,
               resume=args.resume, overwrite=args.overwrite, shard_size=args.shard_size, batch_size=args.batch_size,
               report=args.report, ray_address=args.ray_address, workers=args.workers,
               gpus_per_worker=args.gpus_per_worker, progress=not args.quiet,
               provenance=args.provenance == "on")
    print(format_summary(read_summary(out)))
    if args.report:
        print(f"report: {args.report}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="score millions of images into sharded Parquet (resumable; local or Ray)",
                       description="Score every image under ROOTs into Parquet shards in --out; read them back "
                                   "with pyarrow.parquet.read_table(OUT) or pandas.read_parquet(OUT).")
    p.add_argument("roots", nargs="*", metavar="ROOT",
                   help="folders (walked recursively), image files, glob patterns, or manifests: .txt (one path "
                        "a line), .csv or .parquet (a 'path' column)")
    p.add_argument("--out", help="results folder: new or empty (or an earlier scan with --resume)")
    p.add_argument("--summary", metavar="DIR", help="print the summary of the scan in DIR and stop")
    p.add_argument("--model", help="model folder or bundled name (default: the bundled default model)")
    add_backend_option(p)
    p.add_argument("--faces", choices=FACE_MODES, default="auto",
                   help="auto: score every detected face (max over faces), whole image if none; off: whole image")
    add_provenance_option(p)
    p.add_argument("--resume", action="store_true", help="continue an interrupted scan in --out (same roots, model "
                                                         "and options); finished shards are kept")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier scan in --out")
    p.add_argument("--shard-size", type=positive_int, default=DEFAULT_SHARD_SIZE, help="rows per Parquet file")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--report", metavar="HTML", help="write an HTML page of the 50 most suspicious images")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process; ray: Ray Data (pip install 'deepfake-detector-toolkit[ray]')")
    p.add_argument("--ray-address", help="Ray cluster to join (default: RAY_ADDRESS, else a local Ray)")
    p.add_argument("--workers", type=positive_int, help="Ray actors, each loading the model once (default: one "
                                                        "per GPU share, or one per CPU node)")
    p.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per Ray actor (e.g. 1; default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_scan)
