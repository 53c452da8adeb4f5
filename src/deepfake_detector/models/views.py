"""Test-time views: a model's logit averaged over fixed variants of its input (mirror, centre zoom).

A detector that looks for local traces (a blending boundary, a colour seam) scores each of several views of a
face a little differently; averaging the logits over a few views ranks fakes more steadily (measured on the
validation swaps, docs/face-swaps.md). A view is ``original``, ``flip`` (left-right mirror), ``zoom<f>`` (the
centre ``f`` of the side, resized back; 0.5 <= f < 1), or ``+``-joined ops applied in that order, e.g.
``zoom0.9+flip``. All views run as one batch, so the export to ONNX / OpenVINO keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional

from deepfake_detector.errors import ConfigError

ORIGINAL = "original"
Runner = Callable[[torch.Tensor], torch.Tensor]  # a batch -> its logits (N,): a model, or what stands in for one
_ZOOM = re.compile(r"zoom(0\.\d+)$")


def check_view(name: str) -> str:
    """``name`` if it is a view this module knows; ConfigError naming the bad part otherwise."""
    if name == ORIGINAL:
        return name
    for op in name.split("+"):
        zoom = _ZOOM.match(op)
        if op != "flip" and not (zoom and 0.5 <= float(zoom.group(1)) < 1):
            raise ConfigError(f"test-time view '{name}': '{op}' is not one of flip, zoom<f> (0.5 <= f < 1), "
                              f"or {ORIGINAL}")
    return name


def _apply(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == ORIGINAL:
        return x
    for op in name.split("+"):
        if op == "flip":
            x = torch.flip(x, dims=[3])
        else:  # zoom<f>: the centre f of the side, resized back to the input size
            height, width = int(x.shape[2]), int(x.shape[3])  # fixed by the model: a constant in an export
            side_h, side_w = round(height * float(op[4:])), round(width * float(op[4:]))
            top, left = (height - side_h) // 2, (width - side_w) // 2
            x = functional.interpolate(x[:, :, top:top + side_h, left:left + side_w], size=(height, width),
                                       mode="bicubic", align_corners=False)
    return x


class TestTimeViews(nn.Module):
    """Calls a model on every view of a batch at once and returns the mean logit per input."""

    def __init__(self, views: list[str] | tuple[str, ...] = (ORIGINAL,)) -> None:
        super().__init__()
        self.views = tuple(check_view(v) for v in views)
        if not self.views:
            raise ConfigError("test-time views: give at least one view (original for the input as it is)")

    def forward(self, run: Runner, x: torch.Tensor) -> torch.Tensor:
        if self.views == (ORIGINAL,):
            return run(x)
        logits = run(torch.cat([_apply(v, x) for v in self.views]))
        return logits.reshape(len(self.views), -1).mean(dim=0)
