"""A map-style dataset that never crashes on a bad file: it reports it and the batch goes on.

Images are decoded once, resized to the model's input size and, when they fit in memory, kept as one
contiguous uint8 tensor, so later epochs cost only augmentation (and DataLoader workers forked after
the cache is filled share it copy-on-write).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, WeightedRandomSampler
from tqdm.auto import tqdm

from deepfake_detector.data.decode import read_image
from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.data.samples import BadFile, Sample
from deepfake_detector.data.transforms import resize_uint8
from deepfake_detector.errors import ImageDecodeError

DEFAULT_CACHE_LIMIT_BYTES = 4 * 2**30


class ImageDataset(Dataset):
    def __init__(
        self,
        samples: Sequence[Sample],
        preprocess: Preprocess,
        transform: Callable[[torch.Tensor], torch.Tensor],
        cache: bool | str = "auto",
        cache_limit_bytes: int = DEFAULT_CACHE_LIMIT_BYTES,
        progress: bool = True,
        perturb: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
    ) -> None:
        self.samples = list(samples)
        self.preprocess = preprocess
        self.transform = transform
        # Optional ``perturb(decoded_uint8_image, sample_index)``, run before the resize (robustness tests).
        self.perturb = perturb
        self.errors: dict[int, str] = {}
        self.sizes: dict[int, tuple[int, int]] = {}  # decoded (height, width) of the images seen so far
        self._cache: torch.Tensor | None = None
        h, w = preprocess.input_size
        if cache == "auto":
            cache = len(self.samples) * 3 * h * w <= cache_limit_bytes
        if cache:
            self._fill_cache(progress)

    def __len__(self) -> int:
        return len(self.samples)

    def with_transform(self, transform: Callable[[torch.Tensor], torch.Tensor]) -> ImageDataset:
        """The same decoded images (cache shared) under another transform."""
        view = copy.copy(self)
        view.transform = transform
        return view

    def _load(self, index: int) -> tuple[torch.Tensor, tuple[int, int]]:
        """The image resized to the model input, and its decoded (height, width)."""
        image = read_image(self.samples[index].path)
        size = (int(image.shape[-2]), int(image.shape[-1]))
        if self.perturb is not None:
            image = self.perturb(image, index)
        return resize_uint8(image, self.preprocess), size

    def _fill_cache(self, progress: bool) -> None:
        h, w = self.preprocess.input_size
        cache = torch.zeros((len(self.samples), 3, h, w), dtype=torch.uint8)

        def fill(index: int) -> None:
            try:
                cache[index], self.sizes[index] = self._load(index)
            except ImageDecodeError as exc:
                self.errors[index] = str(exc)

        # Decoding releases the GIL, so threads use every core without forking.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(tqdm(pool.map(fill, range(len(self.samples))), total=len(self.samples),
                      desc="Decoding images", unit="img", disable=not progress, leave=False))
        self._cache = cache

    @property
    def bad_files(self) -> list[BadFile]:
        """Files found bad so far (all of them, once the cache is filled)."""
        return [BadFile(str(self.samples[i].path), reason) for i, reason in sorted(self.errors.items())]

    def __getitem__(self, index: int) -> dict:
        if index in self.errors:
            return {"index": index, "error": self.errors[index]}
        if self._cache is not None:
            image, size = self._cache[index], self.sizes[index]
        else:
            try:
                image, size = self._load(index)
            except ImageDecodeError as exc:
                return {"index": index, "error": str(exc)}
        return {"index": index, "image": self.transform(image), "label": self.samples[index].label, "size": size}


def collate_skipping_bad(items: list[dict]) -> dict:
    """Stack the good items; pass the bad ones on as :class:`BadFile` rows for the run's report."""
    good = [it for it in items if "error" not in it]
    bad = [(it["index"], it["error"]) for it in items if "error" in it]
    return {
        "image": torch.stack([it["image"] for it in good]) if good else None,
        "label": torch.tensor([it["label"] for it in good], dtype=torch.float32),
        "index": torch.tensor([it["index"] for it in good], dtype=torch.long),
        "size": [it.get("size") for it in good],
        "bad": bad,
    }


def default_num_workers() -> int:
    """Leave one core to the model: on a 2-core machine that is one loader worker."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


class EpochClock:
    """The training epoch a loader is in, in shared memory: loader workers (persistent, forked or spawned) read
    what the main process set, so a view can draw per epoch (``training/blend_view.py``)."""

    def __init__(self, epoch: int = 0) -> None:
        self._epoch = torch.tensor(epoch, dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set(self, epoch: int) -> None:
        self._epoch.fill_(epoch)


class EpochWeightedSampler(WeightedRandomSampler):
    """Draws with replacement by weight (as ``WeightedRandomSampler``, seeded), one epoch per ``iter``, counting
    from ``first_epoch``: a resumed run first replays the draws of the epochs it already trained, so it goes on
    with the very draws an uninterrupted run makes next. Each epoch sets ``clock`` before its first index
    reaches a worker."""

    def __init__(self, weights: torch.Tensor, seed: int, first_epoch: int = 0,
                 clock: EpochClock | None = None) -> None:
        super().__init__(weights, num_samples=len(weights), replacement=True,
                         generator=torch.Generator().manual_seed(seed))
        self.epoch, self.clock = 0, clock
        while self.epoch < first_epoch:
            self._draw()

    def _draw(self) -> list[int]:
        self.epoch += 1
        return torch.multinomial(self.weights, self.num_samples, True, generator=self.generator).tolist()

    def __iter__(self) -> Iterator[int]:
        if self.clock is not None:
            self.clock.set(self.epoch)
        yield from self._draw()


def make_loader(
    dataset: Dataset, batch_size: int, shuffle: bool, num_workers: int | None = None, seed: int = 0,
    sampler: Sampler | None = None,
) -> DataLoader:
    workers = default_num_workers() if num_workers is None else num_workers
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        collate_fn=collate_skipping_bad,
        generator=generator,
        pin_memory=torch.cuda.is_available(),
    )
