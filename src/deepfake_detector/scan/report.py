"""An HTML page of a scan's most suspicious images (highest P(fake)), thumbnails inline."""

from __future__ import annotations

import base64
import heapq
import html
import io
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from deepfake_detector.errors import ConfigError
from deepfake_detector.scan.shards import read_manifest
from deepfake_detector.scan.summary import decision, read_summary, shows_uncertain
from deepfake_detector.utils.html_page import Html, table, write_page

TOP = 50
_THUMB = 128  # px, longest side


def check_report_path(path: str | Path, out: str | Path) -> Path:
    """A page inside the results folder must be named ``_*`` or ``.*``: pyarrow would read any other file
    there as a shard and fail."""
    path, out = Path(path), Path(out)
    if path.resolve().parent == out.resolve() and not path.name.startswith(("_", ".")):
        raise ConfigError(f"{path}: inside {out} it would break reading the shards as one table; name it "
                          f"_{path.name} or write it elsewhere")
    return path


def most_suspicious(out: str | Path, n: int = TOP) -> list[dict[str, Any]]:
    """The ``n`` rows with the highest P(fake), read shard by shard (memory stays at one batch)."""
    out = Path(out)
    top: list[tuple[float, str, str]] = []
    for shard in read_manifest(out)["shards"]:
        for batch in pq.ParquetFile(out / shard["file"]).iter_batches(columns=["p_fake", "path", "label"]):
            rows = (r for r in zip(*(c.to_pylist() for c in batch.columns), strict=True) if r[0] is not None)
            top = heapq.nlargest(n, [*top, *rows])
    return [{"p_fake": p, "path": path, "label": label} for p, path, label in top]


def _thumbnail(path: str) -> str:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.thumbnail((_THUMB, _THUMB))
            buf = io.BytesIO()
            image.convert("RGB").save(buf, format="JPEG", quality=80)
    except (OSError, ValueError):  # gone or unreadable since it was scored
        return "—"
    return f'<img alt="" src="data:image/jpeg;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def write_report(path: str | Path, out: str | Path, n: int = TOP) -> Path:
    summary = read_summary(out)
    rows = [[Html(_thumbnail(r["path"])), r["p_fake"], r["label"], r["path"]] for r in most_suspicious(out, n)]
    counts = [("inputs", "images"), ("fakes", "fake"), ("uncertain", "uncertain"), ("reals", "real"),
              ("errors", "unreadable"), ("img_per_s", "img/s")]
    cards = "".join(f"<div class='card'><b>{html.escape(str(summary[k]))}</b>{name}</div>" for k, name in counts
                    if k != "uncertain" or shows_uncertain(summary))
    body = (f"<div class='cards'>{cards}</div><h2>The {len(rows)} most suspicious images</h2>"
            + table(["image", "P(fake)", "label", "path"], rows))
    return write_page(path, "Scan: most suspicious images",
                      f"{summary['out']}, model {summary['model_id']}, {decision(summary)}", body)
