"""A scan's totals (from its manifest), stored as ``_summary.json`` and printed as a few lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deepfake_detector.scan.shards import read_manifest
from deepfake_detector.utils.atomic import write_json

SUMMARY = "_summary.json"


def summarize(out: str | Path, wall_seconds: float | None = None) -> dict[str, Any]:
    """Counts over every finished shard; throughput is rows per second of scoring (model loads excluded)."""
    manifest = read_manifest(out)
    shards, options = manifest["shards"], manifest.get("options", {})
    rows = sum(s["rows"] for s in shards)
    fakes = sum(s["fakes"] for s in shards)
    errors = sum(s["errors"] for s in shards)
    seconds = sum(s["seconds"] for s in shards)
    return {"out": str(out), "complete": manifest.get("complete", False), "inputs": rows, "fakes": fakes,
            "reals": rows - fakes - errors, "errors": errors, "shards": len(shards),
            "img_per_s": round(rows / seconds, 2) if seconds else None, "scoring_seconds": round(seconds, 1),
            "wall_seconds": None if wall_seconds is None else round(wall_seconds, 1),
            **{k: options.get(k) for k in ("model_id", "threshold", "faces", "engine")}}


def write_summary(out: str | Path, wall_seconds: float | None = None) -> dict[str, Any]:
    summary = summarize(out, wall_seconds)
    write_json(Path(out) / SUMMARY, summary)
    return summary


def read_summary(out: str | Path) -> dict[str, Any]:
    """The stored summary of a finished scan; for one still unfinished (or killed), the totals so far."""
    path = Path(out) / SUMMARY
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else summarize(out)


def format_summary(summary: dict[str, Any]) -> str:
    rate = "n/a" if summary["img_per_s"] is None else f"{summary['img_per_s']:.1f} img/s"
    threshold = "n/a" if summary["threshold"] is None else f"{summary['threshold']:.4f}"
    state = "complete" if summary["complete"] else "unfinished: continue it with --resume"
    return (f"{summary['out']}: {summary['inputs']} image(s) in {summary['shards']} shard(s) ({state})\n"
            f"  {summary['fakes']} fake, {summary['reals']} real, {summary['errors']} unreadable  "
            f"(model {summary['model_id']}, threshold {threshold}, faces {summary['faces']})\n"
            f"  throughput {rate} over {summary['scoring_seconds']} s of scoring ({summary['engine']} engine)")
