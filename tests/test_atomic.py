"""Atomic writes: all or nothing, and the usual file mode (not mkstemp's private 0600)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deepfake_detector.utils.atomic import atomic_path, write_text


def test_write_replaces_whole_file_with_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text(target, "old")
    write_text(target, "new")
    assert target.read_text() == "new"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
