"""Transforms derived from a model's :class:`Preprocess` (never hand-typed per model)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torchvision.io import decode_jpeg, encode_jpeg
from torchvision.transforms import InterpolationMode, v2

from deepfake_detector.config import AugmentConfig
from deepfake_detector.data.preprocess import Preprocess


def resize_uint8(image: torch.Tensor, preprocess: Preprocess) -> torch.Tensor:
    """Resize a decoded uint8 image to the model's input size (antialiased, like PIL)."""
    if tuple(image.shape[-2:]) == tuple(preprocess.input_size):
        return image
    mode = InterpolationMode(preprocess.interpolation)
    return v2.functional.resize(image, list(preprocess.input_size), interpolation=mode, antialias=True)


def reencode_jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """Re-encode a uint8 image as JPEG at ``quality`` (1-100) and decode it again, as re-saving a photo does."""
    return decode_jpeg(encode_jpeg(image, quality=int(quality)))


def build_transform(
    preprocess: Preprocess, augment: AugmentConfig | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """uint8 image already at input size -> normalised float tensor, with optional augmentation."""
    ops: list[Callable] = []
    if augment is not None:
        if augment.crop < 1:
            h, w = preprocess.input_size
            ops.append(v2.RandomCrop((round(h * augment.crop), round(w * augment.crop))))
        if augment.hflip:
            ops.append(v2.RandomHorizontalFlip())
        if augment.vflip:
            ops.append(v2.RandomVerticalFlip())
        if augment.rotation or augment.shift or augment.zoom:
            ops.append(
                v2.RandomAffine(
                    degrees=augment.rotation,
                    translate=(augment.shift, augment.shift) if augment.shift else None,
                    scale=(1 - augment.zoom, 1 + augment.zoom) if augment.zoom else None,
                    interpolation=InterpolationMode.BILINEAR,
                )
            )
    ops += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(preprocess.mean), list(preprocess.std))]
    return v2.Compose(ops)
