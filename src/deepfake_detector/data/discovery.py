"""Find a dataset's images and labels, whatever its layout.

Supported layouts (labels: fake = 1, real = 0):

* a folder holding ``real/`` and ``fake/``;
* a root holding ``train/``, ``valid/`` (or ``val``/``validation``) and ``test/``, each with ``real/`` and
  ``fake/``; nested roots such as Kaggle's ``real_vs_fake/real-vs-fake/`` are found automatically;
* a CSV manifest with a header ``path,label`` (and optionally ``split`` and ``source``, as a run's
  ``splits.csv`` has: results are then reported per source); labels ``0/1`` or ``real/fake``; relative
  paths are resolved against the CSV's folder.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from deepfake_detector.data.inputs import walk
from deepfake_detector.data.pillow_decode import IMAGE_EXTENSIONS
from deepfake_detector.data.samples import FAKE, LABEL_IDS, REAL, BadFile, Sample
from deepfake_detector.errors import DatasetError

SPLIT_ALIASES = {"train": ("train",), "valid": ("valid", "val", "validation"), "test": ("test",)}
_CLASS_DIRS = {"real": REAL, "fake": FAKE}
_SEARCH_DEPTH = 3


@dataclass
class DiscoveredDataset:
    """Samples per split as found on disk (``all`` for a flat folder), plus files skipped on the way."""

    root: Path
    splits: dict[str, list[Sample]]
    skipped: list[BadFile] = field(default_factory=list)


def discover(source: str | Path, one_class: bool = False) -> DiscoveredDataset:
    """Locate images and labels under ``source`` (folder or CSV manifest).

    ``one_class``: a folder of fakes only (or reals only) is a dataset too (a source of a training mix,
    or a set to measure recall / false-positive rate on).
    """
    path = Path(source).expanduser()
    if not path.exists():
        raise DatasetError(f"{path}: dataset not found (no such file or folder)")
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise DatasetError(f"{path}: a dataset must be a folder or a .csv manifest (path,label)")
        return _from_manifest(path, one_class)
    root = _find_layout_root(path)
    if root is None:
        raise DatasetError(
            f"{path}: no dataset layout found; expected real/ and fake/ folders, or train/valid/test "
            "folders holding them, or a CSV manifest"
        )
    skipped: list[BadFile] = []
    if _has_class_dirs(root):
        return DiscoveredDataset(root, {"all": _scan_class_dirs(root, skipped, one_class)}, skipped)
    splits = {}
    for split, aliases in SPLIT_ALIASES.items():
        folder = next((root / a for a in aliases if _has_class_dirs(root / a)), None)
        if folder is not None:
            splits[split] = _scan_class_dirs(folder, skipped, one_class)
    return DiscoveredDataset(root, splits, skipped)


def _has_class_dirs(folder: Path) -> bool:
    return (folder / "real").is_dir() or (folder / "fake").is_dir()


def _is_split_root(folder: Path) -> bool:
    return any(_has_class_dirs(folder / a) for aliases in SPLIT_ALIASES.values() for a in aliases)


def _find_layout_root(path: Path) -> Path | None:
    """Breadth-first search (a few levels deep) for the first folder that is a dataset root."""
    level = [path]
    for _ in range(_SEARCH_DEPTH + 1):
        for folder in level:
            if _has_class_dirs(folder) or _is_split_root(folder):
                return folder
        level = sorted(child for folder in level for child in folder.iterdir() if child.is_dir())
    return None


def _scan_class_dirs(folder: Path, skipped: list[BadFile], one_class: bool = False) -> list[Sample]:
    samples = []
    for class_name, label in _CLASS_DIRS.items():
        class_dir = folder / class_name
        if not class_dir.is_dir():
            if one_class:
                continue
            raise DatasetError(f"{class_dir}: missing class folder ({folder} needs both real/ and fake/)")
        found = 0
        for file in map(Path, walk(class_dir, "any")):  # every file: the others are listed as skipped
            if not file.exists():
                skipped.append(BadFile(str(file), "broken or looping symbolic link"))
                continue
            if file.suffix.lower() in IMAGE_EXTENSIONS:
                samples.append(Sample(file, label))
                found += 1
            else:
                skipped.append(BadFile(str(file), f"unsupported format '{file.suffix or 'no extension'}'"))
        if found == 0:
            raise DatasetError(f"{class_dir}: empty class folder (no images found)")
    return samples


def _parse_label(raw: str, where: str) -> int:
    value = raw.strip().lower()
    if value in ("0", "1"):
        return int(value)
    if value in LABEL_IDS:
        return LABEL_IDS[value]
    raise DatasetError(f"{where}: label '{raw}' is not one of 0, 1, real, fake")


def _from_manifest(csv_path: Path, one_class: bool = False) -> DiscoveredDataset:
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:  # -sig: Excel's CSV starts with a BOM
        reader = csv.DictReader(fh)
        columns = set(reader.fieldnames or [])
        if not {"path", "label"} <= columns:
            raise DatasetError(f"{csv_path}: manifest needs a header with 'path' and 'label' columns")
        splits: dict[str, list[Sample]] = {}
        for line_no, row in enumerate(reader, start=2):
            where = f"{csv_path}:{line_no}"
            if not (row.get("path") or "").strip() or row.get("label") is None:
                raise DatasetError(f"{where}: row needs both a path and a label")
            split = (row.get("split") or "all").strip().lower()
            split = next((name for name, al in SPLIT_ALIASES.items() if split in al), split)
            file = Path(row["path"].strip())
            file = file if file.is_absolute() else csv_path.parent / file
            source = (row.get("source") or "").strip()
            splits.setdefault(split, []).append(Sample(file, _parse_label(row["label"], where), source))
    if not splits:
        raise DatasetError(f"{csv_path}: manifest lists no images")
    for split, samples in splits.items():
        for label, name in ((REAL, "real"), (FAKE, "fake"))[: 0 if one_class else 2]:
            if not any(s.label == label for s in samples):
                raise DatasetError(f"{csv_path}: split '{split}' has no {name} images (empty class)")
    return DiscoveredDataset(csv_path.parent, splits)
