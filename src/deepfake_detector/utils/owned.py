"""Folders this toolkit made, and the only folders it will ever delete or replace.

Every output folder (a training run, an evaluation, a comparison) gets a small marker file when it is
created. ``--overwrite`` and re-evaluation remove or replace a folder only if it carries that marker and is
none of the places a user's files live (the working directory, the home folder, the data, or a folder
holding any of them). Evaluations are written into a fresh temporary folder and swapped in whole, so an
interrupted run leaves either the old outputs or the new ones, never a mixture.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from deepfake_detector.errors import ConfigError
from deepfake_detector.utils.atomic import UMASK

MARKER = ".deepfake-detector"


def mark(folder: str | Path, kind: str) -> Path:
    """Create ``folder`` (if needed) and mark it as written by this toolkit."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(f"{kind}\n", encoding="utf-8")
    return folder


def is_owned(folder: str | Path) -> bool:
    return (Path(folder) / MARKER).is_file()


def is_empty(folder: str | Path) -> bool:
    folder = Path(folder)
    return not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))


def _protected(extra: Iterable[str | Path]) -> list[Path]:
    places = [Path.cwd(), Path.home(), *(Path(p) for p in extra if p is not None)]
    return [p.expanduser().resolve() for p in places]


def check_removable(folder: str | Path, *, protect: Iterable[str | Path] = ()) -> Path:
    """The resolved ``folder`` if deleting it would lose nothing of the user's; else a one-line ConfigError."""
    target = Path(folder).expanduser().resolve()
    for place in _protected(protect):
        if target == place or target in place.parents:
            raise ConfigError(f"{folder}: refusing to delete it: it is or holds {place}")
    if target.exists() and not is_empty(target) and not is_owned(target):
        raise ConfigError(f"{folder}: refusing to delete it: this toolkit did not create it (no {MARKER} "
                          "marker); choose a new or empty folder")
    return target


def remove_owned(folder: str | Path, *, protect: Iterable[str | Path] = ()) -> None:
    """Delete a folder this toolkit made (see :func:`check_removable`); a missing folder is fine."""
    target = check_removable(folder, protect=protect)
    if target.exists():
        shutil.rmtree(target)


@contextmanager
def replaced_folder(folder: str | Path, kind: str, *, protect: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``folder``; on success it replaces ``folder`` whole.

    ``folder`` must be new, empty, or one of this toolkit's (checked first, before any work). On an
    exception (or a kill) the temporary folder is dropped and ``folder`` is untouched.
    """
    target = check_removable(folder, protect=protect)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    os.chmod(tmp, 0o777 & ~UMASK)  # mkdtemp's 0700 would make outputs private
    try:
        mark(tmp, kind)
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
            os.replace(target, old / "previous")
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
