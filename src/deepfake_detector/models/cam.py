"""What Grad-CAM explains in a model: a layer, and how that layer's output becomes a spatial map.

A convolutional model names a conv stage, whose output already is ``(N, C, H, W)``. A vision transformer
names a block's ``norm1`` (the input of its attention, through which every patch token reaches the class
token the head reads), a :class:`TokenGrid` that drops the class token(s) and lays the patch tokens
``(N, T, C)`` out as ``(N, C, rows, cols)``, and LayerCAM (see :func:`vit_cam_target`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn


@dataclass(frozen=True)
class TokenGrid:
    """Patch tokens ``(N, prefix + rows * cols, C)`` -> ``(N, C, rows, cols)``, the prefix (class) tokens dropped."""

    rows: int
    cols: int
    prefix_tokens: int = 1

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        patches = tokens[:, self.prefix_tokens:, :]
        n, count, channels = patches.shape
        if count != self.rows * self.cols:
            raise ValueError(f"expected {self.rows}x{self.cols} patch tokens, got {count}")
        return patches.reshape(n, self.rows, self.cols, channels).permute(0, 3, 1, 2)


CamMethod = Literal["gradcam", "layercam"]


@dataclass(frozen=True)
class CamTarget:
    """The layer Grad-CAM hooks, the reshape of its output to ``(N, C, H, W)`` (None: already spatial), and the
    method: ``gradcam`` (one weight per channel, its gradient averaged over the map) or ``layercam`` (each
    location weighted by its own positive gradient)."""

    layer: nn.Module
    reshape: Callable[[torch.Tensor], torch.Tensor] | None = None
    method: CamMethod = "gradcam"


def vit_cam_target(vit: nn.Module, block: int = -1) -> CamTarget:
    """A timm VisionTransformer's block ``block`` (its ``norm1``), patch tokens laid out on the patch grid.

    LayerCAM, because on validation faces the default CLIP detector's Grad-CAM (196 tokens' gradients averaged
    into one weight per channel) lit clothes and background, LayerCAM the eyes and face of the fakes.
    """
    rows, cols = vit.patch_embed.grid_size
    return CamTarget(vit.blocks[block].norm1, TokenGrid(rows, cols, vit.num_prefix_tokens), "layercam")


def last_conv_target(model: nn.Module) -> CamTarget:
    """A convolutional model's last ``Conv2d``: the default Grad-CAM target."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise TypeError(f"{type(model).__name__} has no convolution layer to explain and defines no cam_target()")
    return CamTarget(convs[-1])
