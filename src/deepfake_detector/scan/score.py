"""One chunk of paths -> one Arrow table of results: the only place a scan scores images (both engines)."""

from __future__ import annotations

import json
import os
from typing import Any

import pyarrow as pa

from deepfake_detector.utils.hashing import file_sha256

SCHEMA = pa.schema([
    ("path", pa.string()),
    ("size", pa.int64()),  # bytes
    ("sha256", pa.string()),  # of the file's content: finds the same image under other names
    ("p_fake", pa.float64()),
    ("label", pa.string()),
    ("error", pa.string()),
    ("warning", pa.string()),
    ("model_id", pa.string()),
    ("inference_engine", pa.string()),  # the runtime and precision that scored the row (inference/engine.py)
    ("threshold", pa.float64()),
    ("faces", pa.string()),  # JSON list of {"box", "crop", "confidence", "p_fake"}; null when not searched
    ("reason", pa.string()),  # "provenance" or "detector": what decided the label (provenance/combine.py)
    ("provenance_kind", pa.string()),  # ai-generated, invalid-manifest, capture, edited, metadata, none
    ("c2pa", pa.string()),  # Content Credentials: none, valid, trusted, invalid, unreadable, remote, ...
    ("provenance", pa.string()),  # JSON of everything found (provenance/read.py); null when not read
])


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays inside face rows, as JSON numbers and lists."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def _identity(path: str) -> tuple[int | None, str | None]:
    try:
        return os.path.getsize(path), file_sha256(path)
    except OSError:  # missing or unreadable: the prediction's error says why
        return None, None


def score_table(predictor: Any, paths: list[str], faces: str, batch_size: int, provenance: bool = True) -> pa.Table:
    """Score ``paths`` through ``predictor.predict``; one row per path, in order, bad files included."""
    predictions = predictor.predict(paths, batch_size=batch_size, progress=False, faces=faces, provenance=provenance)
    found = [p.provenance or {} for p in predictions]
    sizes, digests = zip(*map(_identity, paths), strict=True)
    return pa.table({
        "path": paths,
        "size": sizes,
        "sha256": digests,
        "p_fake": [p.p_fake for p in predictions],
        "label": [p.label for p in predictions],
        "error": [p.error for p in predictions],
        "warning": [p.warning for p in predictions],
        "model_id": [predictor.model_id] * len(paths),
        "inference_engine": [predictor.engine] * len(paths),
        "threshold": [float(predictor.threshold)] * len(paths),
        "faces": [None if p.faces is None else json.dumps(p.faces, default=_plain) for p in predictions],
        "reason": [p.reason for p in predictions],
        "provenance_kind": [f.get("kind") for f in found],
        "c2pa": [f.get("c2pa") for f in found],
        "provenance": [json.dumps(p.provenance) if p.provenance else None for p in predictions],
    }, schema=SCHEMA)
