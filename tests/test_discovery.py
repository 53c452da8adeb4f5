"""Finding datasets in every supported layout, splitting them, and rejecting bad layouts clearly."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from deepfake_detector.data import FAKE, REAL, discover, make_splits, select_split
from deepfake_detector.data.splits import balanced_subsample, stratified_split
from deepfake_detector.errors import DatasetError

from .conftest import CROSS, DATA_140K, write_image


def _counts(samples):
    c = Counter(s.label for s in samples)
    return c[REAL], c[FAKE]


def test_kaggle_layout_found_from_its_root():
    ds = discover(DATA_140K)
    assert ds.root.parts[-2:] == ("real_vs_fake", "real-vs-fake")
    assert {k: _counts(v) for k, v in ds.splits.items()} == {
        "train": (567, 400), "valid": (117, 193), "test": (116, 207)}
    fake_names = {s.path.parent.name for s in ds.splits["train"] if s.label == FAKE}
    assert fake_names == {"fake"}


def test_flat_folder_is_split_80_20_stratified_and_seeded():
    ds = discover(CROSS / "tpdne-sg2")
    assert list(ds.splits) == ["all"] and _counts(ds.splits["all"]) == (600, 200)
    a = make_splits(ds, val_fraction=0.2, seed=7)
    b = make_splits(ds, val_fraction=0.2, seed=7)
    c = make_splits(ds, val_fraction=0.2, seed=8)
    assert _counts(a.valid) == (120, 40) and _counts(a.train) == (480, 160)
    assert a.valid == b.valid and a.valid != c.valid
    assert not {s.path for s in a.train} & {s.path for s in a.valid}
    assert a.test is None and not a.valid_is_held_out


def test_dataset_valid_split_is_used_when_present():
    splits = make_splits(discover(DATA_140K))
    assert splits.valid_is_held_out and _counts(splits.valid) == (117, 193)


def test_balanced_subsample_limit():
    train = discover(DATA_140K).splits["train"]
    sub = balanced_subsample(train, 300, seed=1)
    assert _counts(sub) == (150, 150)
    assert sub == balanced_subsample(train, 300, seed=1)
    assert _counts(balanced_subsample(train, 1000, seed=1)) == (500, 400)  # a class smaller than half: all of it


def test_select_split_defaults_to_test_then_all():
    assert select_split(discover(DATA_140K), None)[0] == "test"
    name, samples = select_split(discover(CROSS / "tpdne-sg2"), None)
    assert name == "all" and len(samples) == 800
    with pytest.raises(DatasetError, match="no 'test' split"):
        select_split(discover(CROSS / "tpdne-sg2"), "test")


def test_stratified_split_keeps_class_ratio():
    samples = discover(CROSS / "yonsei-photoshop").splits["all"]
    rest, held = stratified_split(samples, 0.25, seed=0)
    assert len(rest) + len(held) == len(samples)
    real, fake = _counts(held)
    assert real == round(1081 * 0.25) and fake == round(960 * 0.25)


def test_csv_manifest_with_splits_and_word_labels(tmp_path: Path):
    ds = discover(DATA_140K)
    manifest = tmp_path / "m.csv"
    # Use a subset that has both classes in each split.
    train = ds.splits["train"]
    rows = [(train[0].path, "real", "train"), (train[-1].path, "fake", "train"),
            (ds.splits["valid"][0].path, "0", "val"), (ds.splits["valid"][-1].path, "1", "val")]
    with manifest.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "split"])
        writer.writerows(rows)
    found = discover(manifest)
    assert sorted(found.splits) == ["train", "valid"]
    assert [s.label for s in found.splits["train"]] == [REAL, FAKE]


def test_csv_manifest_relative_paths_and_bad_label(tmp_path: Path):
    write_image(tmp_path / "a.png", (0, 0, 0))
    write_image(tmp_path / "b.png", (255, 255, 255))
    (tmp_path / "ok.csv").write_text("path,label\na.png,0\nb.png,1\n")
    ds = discover(tmp_path / "ok.csv")
    assert [s.path for s in ds.splits["all"]] == [tmp_path / "a.png", tmp_path / "b.png"]
    (tmp_path / "bad.csv").write_text("path,label\na.png,maybe\n")
    with pytest.raises(DatasetError, match=r"bad\.csv:2: label 'maybe'"):
        discover(tmp_path / "bad.csv")
    (tmp_path / "nohead.csv").write_text("file,y\na.png,0\n")
    with pytest.raises(DatasetError, match="'path' and 'label'"):
        discover(tmp_path / "nohead.csv")


def test_missing_folder_wrong_layout_and_empty_class(tmp_path: Path):
    with pytest.raises(DatasetError, match="dataset not found"):
        discover(tmp_path / "nope")
    (tmp_path / "photos").mkdir()
    write_image(tmp_path / "photos" / "x.png", (1, 2, 3))
    with pytest.raises(DatasetError, match="no dataset layout found"):
        discover(tmp_path / "photos")
    write_image(tmp_path / "d" / "real" / "r.png", (1, 2, 3))
    (tmp_path / "d" / "fake").mkdir()
    with pytest.raises(DatasetError, match=r"fake: empty class folder"):
        discover(tmp_path / "d")
    write_image(tmp_path / "e" / "real" / "r.png", (1, 2, 3))
    with pytest.raises(DatasetError, match=r"missing class folder"):
        discover(tmp_path / "e")


def test_non_image_files_are_skipped_and_listed(tiny_dataset: Path):
    (tiny_dataset / "real" / "notes.txt").write_text("not an image")
    (tiny_dataset / "fake" / ".DS_Store").write_bytes(b"\0")
    ds = discover(tiny_dataset)
    assert len(ds.splits["all"]) == 20
    assert [(Path(b.path).name, b.reason) for b in ds.skipped] == [("notes.txt", "unsupported format '.txt'")]
