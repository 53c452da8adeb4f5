"""The one input lister (data/inputs.py) and its users: predict's expand_paths, scan's iter_inputs, discovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deepfake_detector.data.discovery import discover
from deepfake_detector.data.inputs import iter_media, walk
from deepfake_detector.errors import DeepfakeDetectorError
from deepfake_detector.inference.inputs import expand_paths
from deepfake_detector.scan.inputs import check_roots, iter_inputs


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for name in ("b/z.png", "b/clip.MP4", "a.jpg", "a.txt", ".hidden/x.jpg", "b/.x.jpg", "c/d/e.webp"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    (root / "gone.jpg").symlink_to(root / "nowhere.jpg")  # broken: kept, its row says why
    (root / "gone.txt").symlink_to(root / "nowhere.txt")
    (root / "b" / "self.jpg").symlink_to(root / "b" / "self.jpg")  # looping: kept too
    (root / "loop").symlink_to(root)  # a link to a folder: not followed
    return root


def test_a_walk_is_sorted_depth_first_and_keeps_the_kinds_asked_for(tree: Path) -> None:
    def names(kinds: str) -> list[str]:
        return [os.path.relpath(p, tree) for p in walk(tree, kinds)]

    assert names("media") == ["a.jpg", "b/clip.MP4", "b/self.jpg", "b/z.png", "c/d/e.webp", "gone.jpg"]
    assert names("images") == ["a.jpg", "b/self.jpg", "b/z.png", "c/d/e.webp", "gone.jpg"]
    assert names("videos") == ["b/clip.MP4"]
    assert names("any") == ["a.jpg", "a.txt", "b/clip.MP4", "b/self.jpg", "b/z.png", "c/d/e.webp", "gone.jpg",
                            "gone.txt"]


def test_files_globs_and_manifests_and_what_matches_nothing(tree: Path, tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("# a comment\ntree/a.txt\n/abs/missing.jpg\n")
    items = iter_media([str(tree / "gone.txt"), str(tree / "*" / "*.png"), str(tmp_path / "list.txt")])
    assert iter(items) is items  # lazy
    assert list(items) == [str(tree / "gone.txt"), str(tree / "b/z.png"), str(tree / "a.txt"), "/abs/missing.jpg"]
    with pytest.raises(DeepfakeDetectorError, match="nope.jpg: no such file or folder"):
        list(iter_media([str(tree / "nope.jpg")]))
    with pytest.raises(DeepfakeDetectorError, match=r"\*.gif: pattern matches no files"):
        list(iter_media([str(tree / "*.gif")]))


def test_predict_lists_images_and_videos_once_scan_walks_images_only(tree: Path) -> None:
    media = ["a.jpg", "b/clip.MP4", "b/self.jpg", "b/z.png", "c/d/e.webp", "gone.jpg"]
    assert expand_paths([tree, tree / "a.jpg"]) == [tree / n for n in media]
    assert list(iter_inputs([str(tree)])) == [str(tree / n) for n in media if not n.endswith(".MP4")]
    with pytest.raises(DeepfakeDetectorError, match="pattern matches no files"):  # before any work
        check_roots([str(tree / "*.gif")])


def test_discovery_walks_class_folders_with_the_same_lister(tmp_path: Path) -> None:
    for name in ("real/r.png", "real/.hidden/h.png", "fake/f.jpg", "fake/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "fake" / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    found = discover(tmp_path)
    assert [s.path.name for s in found.splits["all"]] == ["r.png", "f.jpg"]
    assert [(Path(b.path).name, b.reason) for b in found.skipped] == [
        ("gone.jpg", "broken or looping symbolic link"), ("notes.txt", "unsupported format '.txt'")]
