"""What a scan reads: :func:`deepfake_detector.data.inputs.iter_media` over its roots, images only in folders.

The order is deterministic (a resume skips the finished shards' inputs by position) and nothing holds the
full list. Files and manifest rows are kept as given, so a video named there is scored as one (its ``video``
column holds the details); folders are walked for images only, as a scan is a photo archive's pass and a
video costs as much as dozens of photos.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from deepfake_detector.data.inputs import check_root, iter_media
from deepfake_detector.errors import DeepfakeDetectorError

KINDS = "images"  # what a scan's folder walk keeps


def check_roots(roots: Iterable[str | Path]) -> list[str]:
    """The roots as absolute strings (what a resumed scan must match); a missing path, or a pattern that
    matches nothing, is an error before any work."""
    checked = [str(check_root(root).absolute()) for root in roots]  # a resume from elsewhere reads the same
    if not checked:
        raise DeepfakeDetectorError("scan needs at least one folder, file, pattern or manifest")
    return checked


def iter_inputs(roots: Iterable[str]) -> Iterator[str]:
    """Every input of ``roots``, in a deterministic order, one at a time."""
    return iter_media(roots, KINDS)


def count_inputs(roots: Iterable[str]) -> int | None:
    """The number of inputs when cheap to know (files and manifests: one quick pass); None for walks."""
    roots = list(roots)
    if any(Path(r).is_dir() or glob.has_magic(r) for r in roots):
        return None
    return sum(1 for _ in iter_inputs(roots))


def chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(islice(items, size)):
        yield chunk
