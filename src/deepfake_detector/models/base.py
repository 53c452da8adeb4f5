"""The contract every registry model implements: the one interface training, saving, export and explanations use.

A :class:`DetectorModel` maps a float batch ``(N, 3, H, W)`` (already normalised by its ``preprocess``) to one
logit per image (sigmoid = P(fake)). The defaults fit a model whose weights all live in its folder; a model
with parts stored elsewhere (the CLIP encoder, from the weights cache) overrides what differs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.models.cam import CamTarget, last_conv_target

if TYPE_CHECKING:
    from deepfake_detector.models.meta import ModelMeta


class DetectorModel(nn.Module):
    """Base class of every registry model (``models/registry.py``)."""

    preprocess: Preprocess
    # backend "auto" runs this model with ONNX Runtime on a CPU; False where ONNX Runtime is no faster.
    onnx_auto: ClassVar[bool] = True

    def cam_target(self) -> CamTarget:
        """The layer Grad-CAM explains (and how its output becomes a map): by default the last convolution."""
        return last_conv_target(self)

    def explained(self, x: torch.Tensor) -> tuple[nn.Module, CamTarget]:
        """What Grad-CAM explains for one input ``x`` (1, 3, H, W): a module giving the deciding logit (higher =
        faker), and its layer. By default the whole model; a model of several detectors names the one that
        decided."""
        return self, self.cam_target()

    def saved_state_dict(self) -> dict[str, torch.Tensor]:
        """What a model folder stores: every weight, unless some come from elsewhere."""
        return self.state_dict()

    @property
    def stores_every_weight(self) -> bool:
        """Whether :meth:`saved_state_dict` is the whole model (loading is then strict)."""
        return True

    def saved_info(self) -> dict[str, Any]:
        """Extra ``model.json`` entries describing weights stored elsewhere (e.g. the encoder's SHA-256)."""
        return {}

    def check_saved_info(self, meta: ModelMeta) -> None:
        """Warn when what a saved model was trained with differs from what is loaded now."""

    def feature_key(self) -> str | None:
        """Names what a frozen backbone computes, for the on-disk feature cache; None: not cacheable."""
        return None


class BackboneAndHead(DetectorModel):
    """A pretrained ``backbone`` (image -> features) and a ``head`` (features -> one logit): the models the
    transfer strategies of ``train.finetune`` (frozen, staged, backbone learning rate) apply to."""

    backbone: nn.Module
    head: nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)).squeeze(1)
