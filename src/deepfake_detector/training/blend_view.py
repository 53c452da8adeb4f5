"""A training view of blended fakes: each real face of a dataset turned into a blend (``data/blending.py``),
its landmarks found by MTCNN (``faces/detect.py``), seeded so the view is the same picture in every run; and
held-out blends of a validation or test split's reals, written as image files."""

from __future__ import annotations

import collections
import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from deepfake_detector.config import BlendConfig
from deepfake_detector.data.blending import (
    BLEND_SOURCE,
    Landmarks,
    blend_view_name,
    landmarks_or_aligned,
    self_blend,
    swap_faces,
)
from deepfake_detector.data.dataset import EpochClock
from deepfake_detector.data.decode import read_image
from deepfake_detector.data.samples import FAKE, Sample
from deepfake_detector.errors import ImageDecodeError
from deepfake_detector.faces.detect import FaceDetector
from deepfake_detector.models.weights.fetch import cache_dir
from deepfake_detector.utils.atomic import atomic_path


class BlendView:
    """``perturb(image, index)`` turning the ``index``-th real face of ``donors`` into a blended fake (SBI, or
    a swap with another of ``donors``); seeded by (seed, view, index), so a view is the same in every run.

    With ``cfg.fresh`` each later call for the same ``index`` draws a new blend, seeded by the epoch ``clock``
    says (the training loader's sampler sets it, a resumed run included) and by how many times this process
    drew ``index`` in that epoch; epoch 0's first draw is the fixed view's. The photos' landmarks are found once."""

    def __init__(self, cfg: BlendConfig, donors: list[Path], seed: int, view: int,
                 clock: EpochClock | None = None) -> None:
        self.cfg, self.donors, self.seed, self.view, self.clock = cfg, donors, seed, view, clock
        self._detector: FaceDetector | None = None
        self._draws: collections.Counter[int] = collections.Counter()
        self._draws_epoch = 0
        self._landmarks: dict[int, Landmarks] = {}

    def __getstate__(self) -> dict:  # loader workers make their own face detector
        return self.__dict__ | {"_detector": None}

    def landmarks(self, image: np.ndarray) -> Landmarks:
        if self._detector is None:
            self._detector = FaceDetector(min_face_px=32)
        faces = self._detector.detect(image)
        return landmarks_or_aligned(np.array(faces[0].landmarks) if faces else None, image.shape[:2])

    def _landmarks_of(self, index: int, image: np.ndarray) -> Landmarks:
        """The landmarks of donor ``index`` (that image); kept for later draws when blends are fresh."""
        if not self.cfg.fresh:
            return self.landmarks(image)
        if index not in self._landmarks:
            self._landmarks[index] = self.landmarks(image)
        return self._landmarks[index]

    def _draw_of(self, index: int) -> tuple[int, ...]:
        """(epoch, k) for the k-th fresh blend of ``index`` this process makes in the clock's epoch; () for the
        fixed view's (epoch 0, k 0)."""
        epoch = self.clock.epoch if self.clock is not None else 0
        if epoch != self._draws_epoch:
            self._draws.clear()
            self._draws_epoch = epoch
        k = self._draws[index]
        self._draws[index] += 1
        return (epoch, k) if (epoch, k) != (0, 0) else ()

    def __call__(self, image: torch.Tensor, index: int) -> torch.Tensor:
        draw = self._draw_of(index) if self.cfg.fresh else ()
        rng = np.random.default_rng([self.seed, self.view, index, *draw])
        target = np.ascontiguousarray(image.permute(1, 2, 0).numpy())
        swap = len(self.donors) > 1 and rng.random() < self.cfg.p_swap
        # drawn only when asked for, so the recipes from before p_part and p_seamless make the same pictures
        parts = self.cfg.p_part > 0 and rng.random() < self.cfg.p_part
        seamless = swap and self.cfg.p_seamless > 0 and rng.random() < self.cfg.p_seamless
        if swap:
            other = int(rng.integers(len(self.donors) - 1))
            other += other >= index  # never the photo itself
            donor = np.ascontiguousarray(read_image(self.donors[other]).permute(1, 2, 0).numpy())
            blend = swap_faces(target, self._landmarks_of(index, target), donor, self._landmarks_of(other, donor),
                               rng, seamless=seamless, parts=parts)
        else:
            blend = self_blend(target, self._landmarks_of(index, target), rng, parts=parts)
        return torch.from_numpy(blend.image).permute(2, 0, 1).contiguous()


# Views of held-out blends: far from the training views' numbers, so no held-out blend repeats a training one.
HELD_OUT_VIEW = 1000


def write_held_out_blends(reals: list[Sample], cfg: BlendConfig, seed: int, split: str) -> list[Sample]:
    """Blended fakes of held-out real photos (a validation or test split that has no fakes of its own): one
    per photo, swaps only among these photos, saved losslessly (PNG) under the cache's ``blends/`` folder,
    keyed by the photos and the recipe, so the split can be scored like any folder of images."""
    recipe = "\n".join([blend_view_name(cfg, HELD_OUT_VIEW, seed), split, *(str(s.path) for s in reals)])
    folder = cache_dir() / "blends" / hashlib.sha256(recipe.encode()).hexdigest()[:16]
    view = BlendView(cfg, [s.path for s in reals], seed, HELD_OUT_VIEW)
    fakes = []
    for index, real in enumerate(tqdm(reals, desc=f"Blends of the {split} reals", unit="img", leave=False)):
        path = folder / f"{index:05d}-{Path(real.path).stem}.png"
        if not path.exists():
            try:
                image = read_image(real.path)
            except ImageDecodeError:
                continue  # an unreadable real photo: the split's evaluation reports it; no blend of it
            with atomic_path(path) as tmp:
                Image.fromarray(view(image, index).permute(1, 2, 0).numpy()).save(tmp, format="PNG")
        fakes.append(Sample(path, FAKE, BLEND_SOURCE))
    return fakes
