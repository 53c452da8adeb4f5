"""Expand what a user types (files, folders, globs, manifests) into the list of image and video files to score."""

from __future__ import annotations

from pathlib import Path

from deepfake_detector.data.inputs import iter_media


def expand_paths(items: list[str | Path]) -> list[Path]:
    """Files are kept as given (bad ones are reported per file later); folders are searched recursively for
    images and videos; globs are expanded; manifests list paths (:mod:`deepfake_detector.data.inputs`). A name
    that matches nothing is an error. A path named twice is scored once."""
    return [Path(p) for p in dict.fromkeys(iter_media(items, "media"))]
