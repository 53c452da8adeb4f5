"""The one input lister: what a user names (folders, files, glob patterns, manifests) as media paths, lazily.

- a folder is walked depth first, each folder's entries sorted by name, so the order is the same on every run
  and machine (a scan resumes by position); hidden names are skipped, links to folders are not followed (no
  loops), and a broken link with a wanted suffix is kept so its row says why it failed; ``kinds`` says which
  suffixes a walk keeps;
- a file is kept as given, whatever it holds (a bad one is reported in its own row, later);
- a glob pattern gives the files it matches, sorted (one pattern's matches are held at once);
- a manifest is a ``.txt`` file with one path per line (``#`` comments), or a ``.csv`` / ``.parquet`` file
  with a ``path`` column, read in chunks; its paths are kept as written, relative ones taken from the
  manifest's folder.

Nothing else is held: a listing of millions of paths keeps one folder listing or one manifest chunk in memory.
Labelled datasets (``real/`` and ``fake/``) walk their class folders with :func:`walk` too
(:mod:`deepfake_detector.data.discovery`, video sets in ``evaluation/video.py``).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from deepfake_detector.data.pillow_decode import IMAGE_EXTENSIONS
from deepfake_detector.data.video import VIDEO_EXTENSIONS
from deepfake_detector.errors import DeepfakeDetectorError

Kinds = Literal["images", "videos", "media", "any"]
# The suffixes a folder walk keeps; "any": every file (a dataset lists the others as skipped, with a reason).
SUFFIXES: dict[str, frozenset[str] | None] = {"images": IMAGE_EXTENSIONS, "videos": VIDEO_EXTENSIONS,
                                              "media": IMAGE_EXTENSIONS | VIDEO_EXTENSIONS, "any": None}
MANIFEST_SUFFIXES = (".txt", ".csv", ".parquet")
_CHUNK_ROWS = 65_536  # manifest rows read at a time


def iter_media(roots: Iterable[str | Path], kinds: Kinds = "media") -> Iterator[str]:
    """Every input ``roots`` name, in a deterministic order, one at a time (see the module docstring).

    A root that is neither a file, a folder nor a pattern matching a file raises, when the listing reaches it.
    """
    for root in roots:
        path = Path(root).expanduser()
        if path.is_dir():
            yield from walk(path, kinds)
        elif path.suffix.lower() in MANIFEST_SUFFIXES and path.is_file():
            yield from iter_manifest(path)
        elif path.exists() or path.is_symlink():
            yield str(path)
        else:
            check_root(root)
            yield from sorted(p for p in glob.iglob(str(path), recursive=True) if os.path.isfile(p))


def check_root(root: str | Path) -> Path:
    """``root`` with ``~`` expanded; raises when it does not exist and is not a pattern that matches a file
    (checked up to the first match, so before a long listing starts, not in the middle of it)."""
    path = Path(root).expanduser()
    if path.exists() or path.is_symlink():
        return path
    if not glob.has_magic(str(root)):
        raise DeepfakeDetectorError(f"{root}: no such file or folder")
    if not any(os.path.isfile(p) for p in glob.iglob(str(path), recursive=True)):
        raise DeepfakeDetectorError(f"{root}: pattern matches no files")
    return path


def walk(folder: str | Path, kinds: Kinds = "media") -> Iterator[str]:
    """The files under ``folder`` with a suffix ``kinds`` wants, depth first, entries sorted by name; hidden
    names and links to folders are skipped; a broken (or looping) link is kept."""
    wanted = SUFFIXES[kinds]
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from walk(entry.path, kinds)
        elif _listed(entry) and (wanted is None or Path(entry.name).suffix.lower() in wanted):
            yield entry.path


def _listed(entry: os.DirEntry) -> bool:
    """A file, a link to one, or a broken or looping link (``DirEntry.is_file`` raises on a loop)."""
    if entry.is_symlink():
        return os.path.isfile(entry.path) or not os.path.exists(entry.path)
    return entry.is_file()


def iter_manifest(path: Path) -> Iterator[str]:
    """The paths a manifest lists, relative ones taken from its folder."""
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
