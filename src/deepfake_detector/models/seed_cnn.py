"""Recipe 1: the seed CNN trained from scratch (Conv2D 3x3 ReLU + MaxPool blocks, Flatten, Dense,
Dropout, one sigmoid unit), with the Keras defaults it was published with ("valid" padding)."""

from __future__ import annotations

import torch
from torch import nn

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.models.base import DetectorModel
from deepfake_detector.models.cam import CamTarget
from deepfake_detector.models.registry import register_model


class SeedCNN(DetectorModel):
    def __init__(
        self,
        input_size: int = 128,
        channels: tuple[int, ...] = (32, 64, 128),
        dense: int = 128,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        in_ch, side = 3, input_size
        for out_ch in channels:
            blocks += [nn.Conv2d(in_ch, out_ch, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            in_ch, side = out_ch, (side - 2) // 2
        if side < 1:
            raise ValueError(f"input_size {input_size} is too small for {len(channels)} conv blocks")
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_ch * side * side, dense),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(dense, 1),
        )
        # Keras Rescaling(1/255): pixels in [0, 1], no mean/std.
        self.preprocess = Preprocess(input_size=(input_size, input_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)

    def cam_target(self) -> CamTarget:
        """The last convolution (Grad-CAM target): ``features[-3]`` of the final conv/ReLU/pool block."""
        return CamTarget(self.features[-3])


@register_model
def seed_cnn(
    input_size: int = 128,
    channels: list[int] | tuple[int, ...] = (32, 64, 128),
    dense: int = 128,
    dropout: float = 0.5,
    pretrained: bool | str = False,
) -> SeedCNN:
    """The from-scratch CNN of seed paper 1. It has no pretrained weights."""
    if pretrained:
        raise ValueError("seed_cnn is trained from scratch and has no pretrained weights")
    return SeedCNN(input_size=input_size, channels=tuple(channels), dense=dense, dropout=dropout)
