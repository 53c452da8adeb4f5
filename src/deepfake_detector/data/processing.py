"""Processing augmentation: the histories photos go through, given to real and fake images alike.

Every source of a training mix carries its own processing history (FFHQ's loose 1024 px crops re-saved
at 256 px, UTKFace's tight 200 px chips, SDXL faces cut out of downscaled figure tiles, ...). A detector
that sees each history only with one class learns the history, not the generation. Putting both classes
through the same random crops, resizes, blur or sharpening, colour changes and JPEG re-encodes removes
that shortcut (B-Free, CVPR 2025).

A processed view is a pure function of (image, seed, view, index): the same view of the same training
image is the same picture in every run, so a frozen backbone's features of it can be cached on disk.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from deepfake_detector.config import ProcessingConfig
from deepfake_detector.data.transforms import reencode_jpeg

_RESAMPLERS = (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC, InterpolationMode.NEAREST_EXACT)


def view_name(cfg: ProcessingConfig, view: int, seed: int) -> str:
    """Names a processed view by its recipe, so cached features of another recipe are never reused."""
    recipe = hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()[:10]
    return f"process-{recipe}-s{seed}-v{view}"


def process_image(image: torch.Tensor, cfg: ProcessingConfig, seed: int, view: int, index: int) -> torch.Tensor:
    """One seeded processing history of a decoded uint8 image ``(3, H, W)``; the result is uint8 too."""
    rng = np.random.default_rng([seed, view, index])
    _, height, width = image.shape
    keep = rng.uniform(cfg.crop, 1.0)  # fraction of each side kept: from as framed to tight
    ch, cw = max(8, round(height * keep)), max(8, round(width * keep))
    top = round((height - ch) * rng.uniform(0.25, 0.75))  # near the centre, where the face is
    left = round((width - cw) * rng.uniform(0.25, 0.75))
    image = image[:, top:top + ch, left:left + cw]
    if rng.random() < cfg.p_downscale:
        scale = rng.uniform(cfg.downscale, 1.0)
        size = [max(8, round(ch * scale)), max(8, round(cw * scale))]
        image = F.resize(image, size, interpolation=_RESAMPLERS[rng.integers(len(_RESAMPLERS))], antialias=True)
    if rng.random() < cfg.p_blur:
        sigma = float(rng.uniform(0.3, 1.2))
        image = F.gaussian_blur(image, [5, 5], [sigma, sigma])
    elif rng.random() < cfg.p_sharpen:
        image = F.adjust_sharpness(image, float(rng.uniform(1.3, 2.0)))
    if rng.random() < cfg.p_color:
        image = F.adjust_brightness(image, float(rng.uniform(0.9, 1.1)))
        image = F.adjust_contrast(image, float(rng.uniform(0.9, 1.1)))
        image = F.adjust_saturation(image, float(rng.uniform(0.85, 1.15)))
    if rng.random() < cfg.p_jpeg:
        image = reencode_jpeg(image.contiguous(), int(rng.integers(cfg.jpeg[0], cfg.jpeg[1] + 1)))
    return image
