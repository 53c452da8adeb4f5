"""The results folder of a scan: Parquet shards written atomically, a manifest of finished ones, resume.

Shard ``k`` (``part-0000k.parquet``) holds inputs ``[k*S, (k+1)*S)`` of the scan's deterministic
enumeration. Each is written under a hidden temporary name and renamed into place, then recorded in
``_scan.json`` (also replaced atomically): after a crash or ``kill -9`` the folder holds only whole shards,
and a resumed scan skips exactly the inputs of the recorded ones. Names starting with ``_`` or ``.`` are
what pyarrow skips, so ``pyarrow.parquet.read_table(out)`` reads the shards and nothing else.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections import deque
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from deepfake_detector.errors import ConfigError
from deepfake_detector.inference.verdict import FAKE, UNCERTAIN
from deepfake_detector.utils.atomic import atomic_path, write_json
from deepfake_detector.utils.owned import MARKER, is_empty, is_owned, mark, remove_owned

MANIFEST = "_scan.json"
LOCK = ".lock"
# What must be the same to continue a scan: anything else would mix two different scans in one table.
RESUME_KEYS = ("roots", "model_id", "threshold", "uncertain", "faces", "shard_size", "columns")


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def read_manifest(out: str | Path) -> dict[str, Any]:
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise ConfigError(f"{out}: not a scan results folder (no {MANIFEST})")
    return json.loads(path.read_text(encoding="utf-8"))


class ScanFolder:
    """An output folder this process holds (a lock keeps a second scan out) and its manifest."""

    def __init__(self, out: Path, manifest: dict[str, Any], lock: int) -> None:
        self.out, self.manifest, self._lock = out, manifest, lock

    @classmethod
    def open(cls, out: str | Path, resume: bool = False, overwrite: bool = False) -> ScanFolder:
        """Take ``out`` for a scan: new, empty, or (with ``resume``) a scan of ours; never a user's folder."""
        out = Path(out)
        if overwrite:
            remove_owned(out)  # refuses a folder this toolkit did not create
        elif not is_empty(out):
            if not (is_owned(out) and (out / MANIFEST).is_file()):
                raise ConfigError(f"{out}: not empty and not a scan made by this toolkit; choose a new or empty "
                                  "folder")
            if not resume:
                raise ConfigError(f"{out}: holds a scan already; continue it with --resume, or choose another "
                                  "folder (--overwrite replaces it)")
        mark(out, "scan")
        lock = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the kernel even on kill -9
        except BlockingIOError:
            os.close(lock)
            raise ConfigError(f"{out}: another scan is writing this folder") from None
        manifest = read_manifest(out) if (out / MANIFEST).is_file() else {"shards": [], "complete": False}
        folder = cls(out, manifest, lock)
        folder._drop_leftovers()
        folder._save()  # at once: a run killed while loading its model can still be resumed
        return folder

    def close(self) -> None:
        os.close(self._lock)

    @property
    def shards(self) -> list[dict[str, Any]]:
        return self.manifest["shards"]

    def start(self, options: dict[str, Any]) -> None:
        """Record the run's options; a resumed scan must match the recorded ones (one-line error if not)."""
        old = self.manifest.get("options")
        if old is not None:
            for key in RESUME_KEYS:
                if old.get(key) != options.get(key):
                    raise ConfigError(f"{self.out}: cannot resume: {key} was {old.get(key)!r}, now "
                                      f"{options.get(key)!r}; scan into another folder")
        self.manifest["options"] = {**(old or {}), **options}
        self._save()

    def skip_finished(self, items: Iterator[str]) -> Iterator[str]:
        """Consume the inputs the finished shards hold (checking each shard's last path), return the rest."""
        for shard in self.shards:
            last = deque(islice(items, shard["rows"]), maxlen=1)
            if list(last) != [shard["last_path"]]:
                raise ConfigError(f"{self.out}: cannot resume: the inputs changed since the scan started "
                                  f"({shard['file']} ended at {shard['last_path']}); scan into another folder")
        return items

    def write_shard(self, table: pa.Table, seconds: float) -> None:
        name = shard_name(len(self.shards))
        with atomic_path(self.out / name) as tmp:
            pq.write_table(table, tmp)
        self.shards.append({"file": name, "rows": table.num_rows,
                            "fakes": pc.sum(pc.equal(table["label"], FAKE)).as_py() or 0,
                            "uncertain": pc.sum(pc.equal(table["label"], UNCERTAIN)).as_py() or 0,
                            "by_provenance": pc.sum(pc.equal(table["reason"], "provenance")).as_py() or 0,
                            "invalid_manifests": pc.sum(pc.equal(table["provenance_kind"], "invalid-manifest")).as_py()
                            or 0,
                            "errors": table.num_rows - table["error"].null_count,
                            "seconds": round(seconds, 3), "last_path": table["path"][-1].as_py()})
        self._save()

    def finish(self) -> None:
        self.manifest["complete"] = True
        self._save()

    def _save(self) -> None:
        write_json(self.out / MANIFEST, self.manifest)

    def _drop_leftovers(self) -> None:
        """A killed run's temporary files, and a shard it renamed into place but never recorded."""
        recorded = {s["file"] for s in self.shards}
        for entry in self.out.iterdir():
            temporary = entry.name.startswith(".") and entry.name not in (MARKER, LOCK)
            unrecorded = entry.name.startswith("part-") and entry.name not in recorded
            if temporary or unrecorded:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


class ShardSink:
    """Takes result tables in input order and cuts them into shards of ``shard_size`` rows."""

    def __init__(self, folder: ScanFolder, shard_size: int, progress: Any = None) -> None:
        self.folder, self.shard_size, self.progress = folder, shard_size, progress
        self._tables: list[pa.Table] = []
        self._rows = 0
        self._since = time.perf_counter()

    def add(self, table: pa.Table) -> None:
        self._tables.append(table)
        self._rows += table.num_rows
        if self.progress is not None:
            self.progress.update(table.num_rows)
        while self._rows >= self.shard_size:
            pending = pa.concat_tables(self._tables)
            self._write(pending.slice(0, self.shard_size))
            self._tables = [pending.slice(self.shard_size)]
            self._rows -= self.shard_size

    def close(self) -> None:
        """Write the last, partial shard and mark the scan complete."""
        if self._rows:
            self._write(pa.concat_tables(self._tables))
        self._tables, self._rows = [], 0
        self.folder.finish()

    def _write(self, table: pa.Table) -> None:
        now = time.perf_counter()
        self.folder.write_shard(table.combine_chunks(), now - self._since)
        self._since = now
