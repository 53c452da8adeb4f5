"""Training mixes of several sources: per-source splits, one-class sources, names kept on every sample.

Each source keeps its own train/valid/test folders when it has them; a source without them is split
seeded and stratified: ``test_fraction`` for test, then ``val_fraction`` of the rest for validation.
The mix's train/valid/test are the union of the sources' parts; every sample carries its source's name,
so evaluation can report each source on its own (e.g. recall on diffusion fakes, false positives on reals).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from deepfake_detector.config import SourceConfig
from deepfake_detector.data.discovery import discover
from deepfake_detector.data.samples import FAKE, LABEL_IDS, REAL, BadFile, Sample
from deepfake_detector.data.splits import Splits, balanced_subsample, stratified_split
from deepfake_detector.errors import DatasetError


def source_name(source: SourceConfig) -> str:
    return source.name or Path(source.path).expanduser().name


def _source_splits(source: SourceConfig, val_fraction: float,
                   seed: int) -> tuple[dict[str, list[Sample]], list[BadFile]]:
    found = discover(source.path, one_class=True)
    parts = found.splits
    if source.classes is not None:
        keep = {LABEL_IDS[c] for c in source.classes}
        parts = {split: [s for s in samples if s.label in keep] for split, samples in parts.items()}
        if not any(parts.values()):
            raise DatasetError(f"{source.path}: no {' or '.join(source.classes)} images (data.sources classes)")
    if "train" in parts:
        train, valid, test = parts["train"], parts.get("valid"), parts.get("test", [])
        if valid is None:
            train, valid = stratified_split(train, val_fraction, seed)
    else:
        rest, test = stratified_split(parts["all"], source.test_fraction, seed)
        train, valid = stratified_split(rest, val_fraction, seed)
    name = source_name(source)
    return {split: [dataclasses.replace(s, source=name) for s in samples]
            for split, samples in (("train", train), ("valid", valid), ("test", test))}, found.skipped


def make_source_splits(sources: list[SourceConfig], val_fraction: float = 0.2, seed: int = 42,
                       limit: int | None = None, fakes_from_reals: bool = False) -> tuple[Splits, list[BadFile]]:
    """The union of every source's train / valid / test, each sample tagged with its source's name.

    ``fakes_from_reals``: the fakes are made from the real photos (``augment.blend``), so a split may hold
    reals only."""
    merged: dict[str, list[Sample]] = {"train": [], "valid": [], "test": []}
    skipped: list[BadFile] = []
    for source in sources:
        parts, bad = _source_splits(source, val_fraction, seed)
        skipped += bad
        for split, samples in parts.items():
            merged[split] += samples
    if limit is not None:
        merged["train"] = balanced_subsample(merged["train"], limit, seed)
    for split in ("train", "valid"):
        for label, cls in ((REAL, "real"), (FAKE, "fake")):
            if not any(s.label == label for s in merged[split]) and not (label == FAKE and fakes_from_reals):
                raise DatasetError(f"the {split} split of data.sources has no {cls} images: add a source with {cls} "
                                   "images")
    return Splits(merged["train"], merged["valid"], merged["test"] or None, True), skipped
