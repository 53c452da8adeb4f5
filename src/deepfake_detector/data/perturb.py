"""Image perturbations for robustness tests, applied to the decoded uint8 image (3, H, W) before the
model's own resize and normalisation, identically to real and fake images.

Specs read ``kind:strength[,strength...]``: ``jpeg:95,75`` (re-encode at JPEG quality), ``resize:0.5``
(rescale by a factor; the model then resizes to its input as usual), ``size:256`` (resize so the longer
side is that many pixels, Lanczos, as the generator sets' own resizes were made), ``blur:1`` (Gaussian blur, sigma in
pixels), ``noise:0.02`` (additive Gaussian noise, std as a fraction of the 0-255 range). Random ones are
deterministic per image: the RNG is seeded from (seed, image index).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode, v2

from deepfake_detector.data.transforms import reencode_jpeg

KINDS = ("jpeg", "resize", "size", "blur", "noise")


def jpeg(image: torch.Tensor, quality: float) -> torch.Tensor:
    """Re-encode as JPEG at ``quality`` (1-100) and decode again."""
    return reencode_jpeg(image, int(quality))


def resize(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Rescale both sides by ``factor`` (antialiased bilinear)."""
    h, w = image.shape[-2:]
    size = [max(1, round(h * factor)), max(1, round(w * factor))]
    return v2.functional.resize(image, size, interpolation=InterpolationMode.BILINEAR, antialias=True)


def size(image: torch.Tensor, pixels: float) -> torch.Tensor:
    """Resize (Lanczos, aspect kept) so the longer side is ``pixels``; an image already that size is unchanged."""
    h, w = image.shape[-2:]
    scale = pixels / max(h, w)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    if new == (w, h):
        return image
    resized = Image.fromarray(image.permute(1, 2, 0).numpy()).resize(new, Image.Resampling.LANCZOS)
    return torch.from_numpy(np.array(resized)).permute(2, 0, 1).contiguous()


def blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur with standard deviation ``sigma`` pixels (kernel covers +-3 sigma)."""
    k = 2 * math.ceil(3 * sigma) + 1
    return v2.functional.gaussian_blur(image, [k, k], [sigma, sigma])


def noise(image: torch.Tensor, std: float, rng: np.random.Generator) -> torch.Tensor:
    """Add Gaussian noise of ``std`` (fraction of 255), then round and clip to uint8."""
    n = rng.standard_normal(image.shape, dtype=np.float32) * (std * 255)
    noisy = image.numpy().astype(np.float32) + n
    return torch.from_numpy(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))


@dataclass(frozen=True)
class Perturbation:
    """One perturbation at one strength; call it as ``p(image, index)``."""

    kind: str
    strength: float
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.strength:g}"

    def __call__(self, image: torch.Tensor, index: int = 0) -> torch.Tensor:
        if self.kind == "jpeg":
            return jpeg(image, self.strength)
        if self.kind == "resize":
            return resize(image, self.strength)
        if self.kind == "size":
            return size(image, self.strength)
        if self.kind == "blur":
            return blur(image, self.strength)
        return noise(image, self.strength, np.random.default_rng([self.seed, index]))


PerturbFn = Callable[[torch.Tensor, int], torch.Tensor]


def compose(*perturbations: PerturbFn) -> PerturbFn:
    """Apply several perturbations in order (e.g. resize then JPEG)."""
    def apply(image: torch.Tensor, index: int = 0) -> torch.Tensor:
        for p in perturbations:
            image = p(image, index)
        return image
    return apply


_VALID = {
    "jpeg": (lambda v: 1 <= v <= 100 and v == int(v), "a JPEG quality, an integer 1-100"),
    "resize": (lambda v: 0 < v <= 8, "a scale factor in (0, 8]"),
    "size": (lambda v: 8 <= v <= 8192 and v == int(v), "a side length in pixels, an integer 8-8192"),
    "blur": (lambda v: 0 < v <= 20, "a blur sigma in pixels, in (0, 20]"),
    "noise": (lambda v: 0 < v <= 1, "a noise std as a fraction of 255, in (0, 1]"),
}


def parse_perturbations(specs: list[str], seed: int = 0) -> list[Perturbation]:
    """``["jpeg:95,75", "noise:0.02"]`` -> Perturbations; ValueError with a clear message when malformed."""
    out = []
    for spec in specs:
        kind, sep, values = spec.partition(":")
        kind = kind.strip().lower()
        if kind not in KINDS or not sep or not values:
            raise ValueError(f"perturbation '{spec}' must look like KIND:S1,S2 (KIND: {', '.join(KINDS)})")
        check, meaning = _VALID[kind]
        for raw in values.split(","):
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"perturbation '{spec}': '{raw}' is not a number") from None
            if not check(value):
                raise ValueError(f"perturbation '{spec}': {raw} must be {meaning}")
            out.append(Perturbation(kind, value, seed))
    return out
