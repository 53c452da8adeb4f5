"""Input pipeline: above the cache limit the dataset streams from disk and gives identical batches."""

from __future__ import annotations

from pathlib import Path

import torch

from deepfake_detector.data import discover
from deepfake_detector.data.dataset import ImageDataset, make_loader
from deepfake_detector.data.transforms import build_transform
from deepfake_detector.models import create_model


def test_auto_cache_streams_above_the_limit_with_identical_batches(tiny_dataset: Path) -> None:
    samples = [s for split in discover(tiny_dataset).splits.values() for s in split]
    preprocess = create_model("seed_cnn", input_size=32).preprocess
    transform = build_transform(preprocess)
    streamed = ImageDataset(samples, preprocess, transform, cache="auto", cache_limit_bytes=1, progress=False)
    cached = ImageDataset(samples, preprocess, transform, cache="auto", progress=False)
    assert streamed._cache is None and cached._cache is not None
    for a, b in zip(make_loader(streamed, 8, shuffle=False, num_workers=0),
                    make_loader(cached, 8, shuffle=False, num_workers=0), strict=True):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["index"], b["index"])
        assert torch.equal(a["label"], b["label"])
