"""One chunk of paths -> one Arrow table of results: the only place a scan scores images (both engines).

A row is the result row of every output (``inference/prediction.py``: nested fields as JSON strings), then
what a scan adds about the file itself.
"""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa

from deepfake_detector.inference.prediction import RESULT_COLUMNS, flat_row
from deepfake_detector.inference.writers import result_rows
from deepfake_detector.utils.hashing import file_sha256

_ARROW_TYPES = {str: pa.string(), float: pa.float64(), list: pa.string(), dict: pa.string()}  # nested: JSON
SCHEMA = pa.schema([
    *((c.name, _ARROW_TYPES[c.kind]) for c in RESULT_COLUMNS),
    ("size", pa.int64()),  # bytes
    ("sha256", pa.string()),  # of the file's content: finds the same image under other names
    ("provenance_kind", pa.string()),  # ai-generated, invalid-manifest, capture, edited, metadata, none
    ("c2pa", pa.string()),  # Content Credentials: none, valid, trusted, invalid, unreadable, remote, ...
])


def _identity(path: str) -> dict[str, Any]:
    try:
        return {"size": os.path.getsize(path), "sha256": file_sha256(path)}
    except OSError:  # missing or unreadable: the prediction's error says why
        return {"size": None, "sha256": None}


def score_table(predictor: Any, paths: list[str], faces: str, batch_size: int, provenance: bool = True) -> pa.Table:
    """Score ``paths`` through ``predictor.predict``; one row per path, in order, bad files included."""
    predictions = predictor.predict(paths, batch_size=batch_size, progress=False, faces=faces, provenance=provenance)
    rows = []
    for path, p, row in zip(paths, predictions, result_rows(predictions, predictor), strict=True):
        found = p.provenance or {}
        rows.append(flat_row(row) | _identity(path) | {"provenance_kind": found.get("kind"), "c2pa": found.get("c2pa")})
    return pa.Table.from_pylist(rows, schema=SCHEMA)
