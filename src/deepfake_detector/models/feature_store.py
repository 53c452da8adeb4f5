"""On-disk cache of a frozen backbone's features, keyed by image content, so each is computed once.

A ViT-B/16 runs ~2-3 img/s on a 2-core CPU: recomputing the features of thousands of training images
for every head that is tried would cost hours. A backbone that can be cached names what it computes
(``model.feature_key()``: encoder weights' SHA-256, blocks); each row is keyed by the SHA-256 of the image
file's bytes plus the view (``clean``, ``jpeg75``, ...), so renaming or moving files keeps their
features, and features computed on another machine (e.g. a GPU) can be copied in as shards.

Layout: ``<cache>/features/<feature_key>/<shard>.npz`` with ``keys`` (strings) and ``features``
(float16 rows). New rows are written as a new shard, atomically. Evaluation's runner
(``inference/feature_cache.py``) keeps its own rows, keyed by the model input itself, in
``<feature_key>-inputs`` (float32).
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import numpy as np
import torch

from deepfake_detector.utils.atomic import atomic_path


def row_key(path: str | Path, view: str) -> str:
    """Content key of one image view: SHA-256 of the file's bytes, then the view name."""
    return f"{hashlib.sha256(Path(path).read_bytes()).hexdigest()}:{view}"


class FeatureStore:
    def __init__(self, root: str | Path, feature_key: str) -> None:
        self.folder = Path(root) / feature_key
        self._rows: dict[str, np.ndarray] | None = None

    @property
    def rows(self) -> dict[str, np.ndarray]:
        if self._rows is None:
            self._rows = {}
            for shard in sorted(self.folder.glob("*.npz")):
                with np.load(shard, allow_pickle=False) as data:
                    self._rows.update(zip(data["keys"].tolist(), data["features"], strict=True))
        return self._rows

    def get(self, keys: list[str]) -> dict[str, torch.Tensor]:
        rows = self.rows
        return {k: torch.from_numpy(rows[k].astype(np.float32)) for k in keys if k in rows}

    def put(self, keys: list[str], features: torch.Tensor, dtype: torch.dtype = torch.float16) -> None:
        """Store rows (float16 by default: training features; float32 where a score must be reproduced exactly)."""
        if not keys:
            return
        array = features.detach().cpu().to(dtype).numpy()
        with atomic_path(self.folder / f"{uuid.uuid4().hex}.npz") as tmp, tmp.open("wb") as fh:
            np.savez(fh, keys=np.array(keys), features=array)
        self.rows.update(zip(keys, array, strict=True))

    def export(self, folder: str | Path, max_rows: int = 1200) -> list[Path]:
        """Write all rows as shards of at most ``max_rows`` into ``folder`` (to copy into another cache)."""
        keys = sorted(self.rows)
        out = []
        for start in range(0, len(keys), max_rows):
            chunk = keys[start:start + max_rows]
            path = Path(folder) / f"{self.folder.name}-{start // max_rows:03d}.npz"
            with atomic_path(path) as tmp, tmp.open("wb") as fh:
                np.savez(fh, keys=np.array(chunk), features=np.stack([self.rows[k] for k in chunk]))
            out.append(path)
        return out
