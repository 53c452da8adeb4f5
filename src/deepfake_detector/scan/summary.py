"""A scan's totals (from its manifest), stored as ``_summary.json`` and printed as a few lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deepfake_detector.inference.verdict import VerdictRule
from deepfake_detector.scan.shards import read_manifest
from deepfake_detector.utils.atomic import write_json

SUMMARY = "_summary.json"


def summarize(out: str | Path, wall_seconds: float | None = None) -> dict[str, Any]:
    """Counts over every finished shard; throughput is rows per second of scoring (model loads excluded)."""
    manifest = read_manifest(out)
    shards, options = manifest["shards"], manifest.get("options", {})
    rows = sum(s["rows"] for s in shards)
    fakes = sum(s["fakes"] for s in shards)
    uncertain = sum(s.get("uncertain", 0) for s in shards)  # shards of scans made before bands have none
    errors = sum(s["errors"] for s in shards)
    by_provenance = sum(s.get("by_provenance", 0) for s in shards)  # shards of scans made before provenance: 0
    invalid_manifests = sum(s.get("invalid_manifests", 0) for s in shards)
    seconds = sum(s["seconds"] for s in shards)
    return {"out": str(out), "complete": manifest.get("complete", False), "inputs": rows, "fakes": fakes,
            "uncertain": uncertain, "reals": rows - fakes - uncertain - errors, "errors": errors, "shards": len(shards),
            "fakes_by_provenance": by_provenance, "invalid_manifests": invalid_manifests,
            "img_per_s": round(rows / seconds, 2) if seconds else None, "scoring_seconds": round(seconds, 1),
            "wall_seconds": None if wall_seconds is None else round(wall_seconds, 1),
            **{k: options.get(k) for k in ("model_id", "threshold", "faces", "engine", "inference_engine",
                                                 "provenance")},
            "uncertain_band": options.get("uncertain")}


def write_summary(out: str | Path, wall_seconds: float | None = None) -> dict[str, Any]:
    summary = summarize(out, wall_seconds)
    write_json(Path(out) / SUMMARY, summary)
    return summary


def read_summary(out: str | Path) -> dict[str, Any]:
    """The stored summary of a finished scan; for one still unfinished (or killed), the totals so far."""
    path = Path(out) / SUMMARY
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else summarize(out)


def shows_uncertain(summary: dict[str, Any]) -> bool:
    """Whether to count "uncertain": the scan's model has a band, or some image was uncertain."""
    return bool(summary.get("uncertain_band") or summary.get("uncertain"))


def decision(summary: dict[str, Any]) -> str:
    """``threshold T[, uncertain from L to H]`` of the scan's model."""
    if summary["threshold"] is None:
        return "threshold n/a"
    return VerdictRule.from_meta({"threshold": summary["threshold"], "uncertain": summary.get("uncertain_band")},
                                 summary["out"]).describe(4)


def format_summary(summary: dict[str, Any]) -> str:
    rate = "n/a" if summary["img_per_s"] is None else f"{summary['img_per_s']:.1f} img/s"
    state = "complete" if summary["complete"] else "unfinished: continue it with --resume"
    uncertain = f"{summary['uncertain']} uncertain, " if shows_uncertain(summary) else ""
    provenance = ("provenance off" if summary.get("provenance") is False else
                  f"{summary.get('fakes_by_provenance', 0)} fake by provenance, "
                  f"{summary.get('invalid_manifests', 0)} invalid manifest(s)")
    return (f"{summary['out']}: {summary['inputs']} image(s) in {summary['shards']} shard(s) ({state})\n"
            f"  {summary['fakes']} fake, {uncertain}{summary['reals']} real, {summary['errors']} unreadable  "
            f"(model {summary['model_id']}, {decision(summary)}, faces {summary['faces']})\n"
            f"  {provenance}\n"
            f"  throughput {rate} over {summary['scoring_seconds']} s of scoring ({summary['engine']} engine, "
            f"{summary.get('inference_engine') or 'engine not recorded'})")
