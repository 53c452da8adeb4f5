"""`deepfake-detector serve` (HTTP API and upload page) and `models` (what the registry builds)."""

from __future__ import annotations

import argparse

from deepfake_detector.cli.common import add_backend_option, add_provenance_option


def cmd_serve(args: argparse.Namespace) -> int:
    from deepfake_detector.serve import run_server

    run_server(args.model, host=args.host, port=args.port, threads=args.threads, backend=args.backend,
               provenance=args.provenance == "on")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from deepfake_detector.models import list_models

    print("\n".join(list_models()))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="HTTP API (POST /v1/predict) and an upload page at /")
    p.add_argument("--model", help="model folder (default: the bundled default model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--threads", type=int, default=None, help="torch threads for inference and heatmaps "
                   "(default: all cores; ONNX Runtime and OpenVINO use all cores)")
    add_backend_option(p)
    add_provenance_option(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("models", help="list the model names the registry can build")
    p.set_defaults(func=cmd_models)
