"""Turn a discovered dataset into train / valid / test lists: seeded, stratified, optionally balanced."""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from pathlib import Path

from deepfake_detector.data.discovery import DiscoveredDataset
from deepfake_detector.data.samples import FAKE, LABEL_IDS, LABEL_NAMES, REAL, Sample
from deepfake_detector.errors import DatasetError
from deepfake_detector.utils.atomic import write_csv


@dataclass
class Splits:
    train: list[Sample]
    valid: list[Sample]
    test: list[Sample] | None
    valid_is_held_out: bool  # False when valid was carved out of train by us


def stratified_split(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Split into (rest, held_out) with ``fraction`` of each class held out; deterministic for a seed."""
    rng = random.Random(seed)
    rest, held = [], []
    for label in (REAL, FAKE):
        group = sorted((s for s in samples if s.label == label), key=lambda s: str(s.path))
        rng.shuffle(group)
        n_held = round(len(group) * fraction)
        held += group[:n_held]
        rest += group[n_held:]
    return rest, held


def balanced_subsample(samples: list[Sample], limit: int, seed: int) -> list[Sample]:
    """Up to ``limit`` samples, half per class (all of a class if it has fewer), seeded."""
    rng = random.Random(seed)
    chosen = []
    for label in (REAL, FAKE):
        group = sorted((s for s in samples if s.label == label), key=lambda s: str(s.path))
        chosen += rng.sample(group, min(len(group), limit // 2))
    return sorted(chosen, key=lambda s: str(s.path))


def make_splits(
    dataset: DiscoveredDataset, val_fraction: float = 0.2, seed: int = 42, limit: int | None = None
) -> Splits:
    """Train/valid/test for training. Uses the dataset's own valid split when it has one."""
    splits = dataset.splits
    train = splits.get("train", splits.get("all"))
    if not train:
        raise DatasetError(f"{dataset.root}: no training images (no train/ split and no real/ fake/ folders)")
    valid = splits.get("valid")
    held_out = valid is not None
    if valid is None:
        train, valid = stratified_split(train, val_fraction, seed)
    if limit is not None:
        train = balanced_subsample(train, limit, seed)
    for name, part in (("train", train), ("valid", valid)):
        for label, cls in ((REAL, "real"), (FAKE, "fake")):
            if not any(s.label == label for s in part):
                raise DatasetError(f"{dataset.root}: the {name} split has no {cls} images")
    return Splits(train, valid, splits.get("test"), held_out)


def select_split(dataset: DiscoveredDataset, split: str | None, val_fraction: float = 0.2, seed: int = 42):
    """The samples of one named split for evaluation; ``None`` picks test, else everything.

    ``valid`` on a dataset without its own validation folder gives the same seeded 20% that training
    held out, so a model is never evaluated on the images it was trained on.
    """
    splits = dataset.splits
    if split is None:
        split = "test" if "test" in splits else ("all" if "all" in splits else next(iter(splits)))
    if split in splits:
        return split, splits[split]
    if split in ("train", "valid") and ("all" in splits or "train" in splits):
        made = make_splits(dataset, val_fraction, seed)
        return split, made.train if split == "train" else made.valid
    raise DatasetError(f"{dataset.root}: no '{split}' split; available: {', '.join(sorted(splits))}")


SPLITS_FILE = "splits.csv"


def write_splits(path: str | Path, splits: Splits) -> None:
    """Save the exact file lists of a run (``path,label,source,split``), so it can be re-evaluated and audited.
    Paths are absolute: the file means the same images from any working folder, and as a manifest
    (``evaluate --data run/splits.csv``, whose relative paths would be read from the file's own folder)."""
    rows = [{"path": os.path.abspath(s.path), "label": LABEL_NAMES[s.label], "source": s.source, "split": name}
            for name, part in (("train", splits.train), ("valid", splits.valid), ("test", splits.test or []))
            for s in part]
    write_csv(path, rows, ["path", "label", "source", "split"])


def read_splits(path: str | Path) -> dict[str, list[Sample]]:
    """The split lists saved by :func:`write_splits`: ``{"train": [...], "valid": [...], "test": [...]}``."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the run's split lists ({exc.strerror})") from None
    out: dict[str, list[Sample]] = {}
    for row in rows:
        out.setdefault(row["split"], []).append(Sample(Path(row["path"]), LABEL_IDS[row["label"]], row["source"]))
    return out
