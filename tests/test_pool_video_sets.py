"""``scripts/pool_video_sets.py``: several video sets as one, by links, each set's videos under its own name."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import scripts_imported


@pytest.fixture(scope="module")
def pooling():
    for (module,) in scripts_imported("pool_video_sets"):
        yield module


def _video_set(folder: Path, real: list[str], fake: list[str]) -> Path:
    for label, names in (("real", real), ("fake", fake)):
        (folder / label).mkdir(parents=True)
        for name in names:
            (folder / label / name).write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(8))
    (folder / "real" / "notes.txt").write_text("not a video")
    return folder


def test_every_video_is_linked_under_its_sets_name(pooling, tmp_path: Path) -> None:
    generators = _video_set(tmp_path / "140k-valid", ["a.mp4", "b.mp4"], ["c.mp4"])
    wide = _video_set(tmp_path / "swaps-valid" / "clips-wide", ["a.mp4"], ["a.mp4"])
    out = tmp_path / "pool"
    counts = pooling.pool(out, [generators, wide])
    assert counts == {"140k-valid": {"real": 2, "fake": 1}, "swaps-valid-clips-wide": {"real": 1, "fake": 1}}
    linked = out / "real" / "140k-valid" / "a.mp4"
    assert linked.is_symlink() and linked.resolve() == (generators / "real" / "a.mp4").resolve()
    assert not (out / "real" / "140k-valid" / "notes.txt").exists()  # videos only
    # run again after a set lost a video: the pool follows, the sets themselves are untouched
    (generators / "real" / "b.mp4").unlink()
    assert pooling.pool(out, [generators, wide])["140k-valid"]["real"] == 1
    assert sorted(p.name for p in (out / "real" / "140k-valid").iterdir()) == ["a.mp4"]
    assert (wide / "fake" / "a.mp4").is_file()


def test_a_folder_it_did_not_make_is_refused(pooling, tmp_path: Path, capsys) -> None:
    generators = _video_set(tmp_path / "140k-valid", ["a.mp4"], ["b.mp4"])
    theirs = tmp_path / "mine"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("mine")
    assert pooling.main([str(theirs), str(generators)]) == 2
    assert "is not a pool this script made" in capsys.readouterr().err
    assert (theirs / "keep.txt").read_text() == "mine"


def test_the_pooled_set_is_a_video_set_evaluate_reads(pooling, tmp_path: Path) -> None:
    from deepfake_detector.evaluation.video import find_videos

    out = tmp_path / "pool"
    pooling.pool(out, [_video_set(tmp_path / "a", ["x.mp4"], ["y.mp4"]), _video_set(tmp_path / "b", ["x.mp4"], [])])
    samples, _ = find_videos(out)
    assert sorted((s.path.parent.name, s.path.name, s.label) for s in samples) == [
        ("a", "x.mp4", 0), ("a", "y.mp4", 1), ("b", "x.mp4", 0)]
