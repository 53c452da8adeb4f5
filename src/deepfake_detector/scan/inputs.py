"""What a scan reads, enumerated lazily and always in the same order (resume skips by position).

Roots are folders (walked recursively, each folder's entries sorted by name), image files, glob patterns,
or manifests: a ``.txt`` file with one path per line, or a ``.csv`` / ``.parquet`` file with a ``path``
column, read in chunks. Nothing here ever holds the full list: a scan of millions of paths keeps one
folder listing or one manifest chunk in memory at a time. Manifest paths are kept as written (a path that
does not exist becomes a row with an error); relative ones are taken from the manifest's folder.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from deepfake_detector.data.pillow_decode import IMAGE_EXTENSIONS
from deepfake_detector.errors import DeepfakeDetectorError

MANIFEST_SUFFIXES = (".txt", ".csv", ".parquet")
_CHUNK_ROWS = 65_536  # manifest rows read at a time


def check_roots(roots: Iterable[str | Path]) -> list[str]:
    """The roots as absolute strings (what a resumed scan must match); a missing non-pattern is an error."""
    checked = []
    for root in roots:
        text = str(root)
        path = Path(text).expanduser()
        if not path.exists() and not glob.has_magic(text):
            raise DeepfakeDetectorError(f"{root}: no such file or folder")
        checked.append(str(path.absolute()))  # a resume from another folder reads the same inputs
    if not checked:
        raise DeepfakeDetectorError("scan needs at least one folder, file, pattern or manifest")
    return checked


def iter_inputs(roots: Iterable[str]) -> Iterator[str]:
    """Every input of ``roots``, in a deterministic order, one at a time."""
    for root in roots:
        path = Path(root)
        if path.is_dir():
            yield from _walk(path)
        elif path.suffix.lower() in MANIFEST_SUFFIXES and path.is_file():
            yield from iter_manifest(path)
        elif path.exists() or path.is_symlink():
            yield root
        else:  # a glob pattern; matches come in the file system's listing order (stable while unchanged)
            yield from (p for p in glob.iglob(root, recursive=True) if os.path.isfile(p))


def count_inputs(roots: Iterable[str]) -> int | None:
    """The number of inputs when cheap to know (files and manifests: one quick pass); None for walks."""
    roots = list(roots)
    if any(Path(r).is_dir() or glob.has_magic(r) for r in roots):
        return None
    return sum(1 for _ in iter_inputs(roots))


def chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _walk(folder: Path) -> Iterator[str]:
    """Image files under ``folder``, depth first, entries sorted by name; hidden names and links to folders
    are skipped (no loops); a broken link with an image suffix is kept so its row says why it failed."""
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        elif Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS and (entry.is_file() or entry.is_symlink()):
            yield entry.path


def iter_manifest(path: Path) -> Iterator[str]:
    base = path.parent
    for name in _manifest_rows(path):
        yield name if os.path.isabs(name) else str(base / name)


def _manifest_rows(path: Path) -> Iterator[str]:
    suffix = path.suffix.lower()
    if suffix == ".txt":
        with path.open(encoding="utf-8") as f:
            for line in f:
                if (name := line.strip()) and not name.startswith("#"):
                    yield name
        return
    import pyarrow as pa

    try:
        if suffix == ".csv":
            from pyarrow import csv

            reader = csv.open_csv(path, read_options=csv.ReadOptions(block_size=1 << 22),
                                  convert_options=csv.ConvertOptions(include_columns=["path"],
                                                                     column_types={"path": pa.string()}))
            batches = iter(reader)
        else:
            import pyarrow.parquet as pq

            batches = pq.ParquetFile(path).iter_batches(batch_size=_CHUNK_ROWS, columns=["path"])
        for batch in batches:
            yield from (name for name in batch.column(0).to_pylist() if name)
    except (pa.ArrowInvalid, KeyError) as exc:
        raise DeepfakeDetectorError(f"{path}: a manifest needs a 'path' column ({str(exc).splitlines()[0]})") from None
