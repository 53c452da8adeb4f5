"""Expand what a user types (files, folders, globs) into a list of image and video files."""

from __future__ import annotations

import glob
from pathlib import Path

from deepfake_detector.data.pillow_decode import IMAGE_EXTENSIONS
from deepfake_detector.data.video import VIDEO_EXTENSIONS
from deepfake_detector.errors import DeepfakeDetectorError

MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS


def expand_paths(items: list[str | Path]) -> list[Path]:
    """Files are kept as given (bad ones are reported per file later); folders are searched
    recursively for images and videos; globs are expanded. A name that matches nothing is an error."""
    files: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            # A broken or looping symbolic link is kept: it is reported with its reason, not dropped.
            files += sorted(p for p in path.rglob("*")
                            if (p.is_file() or (p.is_symlink() and not p.exists()))
                            and p.suffix.lower() in MEDIA_EXTENSIONS and not p.name.startswith("."))
        elif path.exists():
            files.append(path)
        elif glob.has_magic(str(item)):
            matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
            if not matches:
                raise DeepfakeDetectorError(f"{item}: pattern matches no files")
            files += matches
        else:
            raise DeepfakeDetectorError(f"{item}: no such file or folder")
    return list(dict.fromkeys(files))  # de-duplicate, keep order
