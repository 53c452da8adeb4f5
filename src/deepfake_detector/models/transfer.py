"""Transfer learning: an ImageNet backbone (pooled features) + a small head giving one logit.

Every model here has ``backbone`` (images -> ``(N, num_features)``), ``head`` (features -> ``(N, 1)``)
and ``preprocess`` read from the backbone's own pretrained configuration (timm's ``pretrained_cfg`` or
torchvision's weights transforms), so training strategies (``training/finetune.py``) are generic.

``pretrained`` is ``False`` (random init), ``True`` (download from the model's hub; offline this fails
with one sentence) or a path to a weights file: a PyTorch / safetensors state dict, or for
``xception`` a Keras model file (``.keras`` / ``.h5``) holding an Xception base, converted exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import timm
import torch
import torchvision
from timm.layers.pool2d_same import MaxPool2dSame
from timm.models.vision_transformer import VisionTransformer
from torch import nn

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.errors import ConfigError, ModelLoadError, first_line
from deepfake_detector.models.base import BackboneAndHead
from deepfake_detector.models.cam import CamTarget, last_conv_target, vit_cam_target
from deepfake_detector.models.registry import register_model, register_model_family
from deepfake_detector.models.weights.convert import (
    StateDict,
    efficientnet_state_from_lukemelas,
    load_exact,
    read_state_dict,
    strip_prefix,
    xception_state_from_keras,
)

Pretrained = bool | str
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


class TransferModel(BackboneAndHead):
    def __init__(self, backbone: nn.Module, num_features: int, preprocess: Preprocess, head: str = "linear",
                 dropout: float = 0.2, blended_offset: float = 0.0, generated_scale: float = 1.0) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = make_head(head, num_features, dropout, blended_offset, generated_scale)
        self.num_features = num_features
        self.preprocess = preprocess

    def cam_target(self) -> CamTarget:
        """Grad-CAM target: a vision transformer's last block (patch tokens on their grid), else the backbone's
        last conv stage: timm's last feature stage, or the last conv."""
        if isinstance(self.backbone, VisionTransformer):
            return vit_cam_target(self.backbone)
        info = getattr(self.backbone, "feature_info", None)
        if info:
            return CamTarget(self.backbone.get_submodule(info[-1]["module"]))
        if isinstance(self.backbone, PooledFeatures):
            return CamTarget(self.backbone.features[-1])
        return last_conv_target(self.backbone)


class MaxOfHeads(nn.Module):
    """Two linear heads on the same features, the larger logit wins: ``generated`` learns generators' traces,
    ``blended`` the traces of a face pasted into a photo (face swaps); P(fake) is high when either sees its
    kind of fake, and one threshold applies to the result (training/finetune.py trains each on its own data).

    ``blended_offset`` lowers the blended head's logit: a stricter operating point of its own, so that where it
    fires on a few real photos it does not raise the threshold both heads share; ``generated_scale`` multiplies
    the generated head's logit, to put a head that started from a trained linear head (larger weights) on the
    blended head's scale, as one temperature then serves both (both chosen on validation, docs/face-swaps.md)."""

    def __init__(self, num_features: int, dropout: float, blended_offset: float = 0.0,
                 generated_scale: float = 1.0) -> None:
        super().__init__()
        self.generated = make_head("linear", num_features, dropout)
        self.blended = make_head("linear", num_features, dropout)
        self.blended_offset, self.generated_scale = blended_offset, generated_scale

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.maximum(self.generated(features) * self.generated_scale,
                             self.blended(features) - self.blended_offset)


def make_head(kind: str, num_features: int, dropout: float, blended_offset: float = 0.0,
              generated_scale: float = 1.0) -> nn.Module:
    """``mlp``: recipe 2's Dense 512-128-64 ReLU head, Dropout after the first two; ``linear``: one layer;
    ``max2``: :class:`MaxOfHeads` (generated + blended faces; ``blended_offset``, ``generated_scale``)."""
    if (blended_offset or generated_scale != 1.0) and kind != "max2":
        raise ConfigError(f"blended_offset and generated_scale set the two heads of head=max2; head={kind} has one")
    if generated_scale <= 0:
        raise ConfigError(f"generated_scale must be above 0, not {generated_scale}")
    if kind == "max2":
        return MaxOfHeads(num_features, dropout, blended_offset, generated_scale)
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(num_features, 512), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(512, 128), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(128, 64), nn.ReLU(inplace=True), nn.Linear(64, 1))
    if kind == "linear":
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(num_features, 1))
    raise ValueError(f"head must be 'mlp', 'linear' or 'max2', not {kind!r}")


def preprocess_from_timm(backbone: nn.Module) -> Preprocess:
    """The input contract timm publishes with the backbone's pretrained weights."""
    cfg = timm.data.resolve_data_config({}, model=backbone)
    return Preprocess(input_size=tuple(cfg["input_size"][1:]), mean=tuple(cfg["mean"]), std=tuple(cfg["std"]),
                      interpolation=cfg["interpolation"])


def _download_error(what: str, exc: Exception) -> ModelLoadError:
    reason = first_line(exc, 120)
    return ModelLoadError(f"could not download the ImageNet weights of '{what}' ({reason}); offline, set "
                          "pretrained to a local weights file instead (see docs/pretrained.md)")


def weights_file(pretrained: Pretrained) -> Path | None:
    """The weights path of a ``pretrained`` argument (``~`` expanded), or None for True/False."""
    if isinstance(pretrained, bool) or pretrained is None:
        return None
    path = Path(str(pretrained)).expanduser()
    if not path.is_file():
        raise ModelLoadError(f"{path}: weights file not found; fetch the published weights with "
                             "'python -m deepfake_detector.models.weights.fetch' (see docs/pretrained.md)")
    return path


def timm_backbone(arch: str, pretrained: Pretrained) -> nn.Module:
    """A timm model without its classifier (global-pooled features), downloading weights if ``True``."""
    if not timm.is_model(arch):
        raise ConfigError(f"unknown timm model '{arch}' (see timm.list_models())")
    try:
        return timm.create_model(arch, pretrained=pretrained is True, num_classes=0)
    except Exception as exc:  # hub / network errors come in many types
        if pretrained is True:
            raise _download_error(arch, exc) from None
        raise


def load_state_file(module: nn.Module, path: Path,
                    convert: Callable[[StateDict], StateDict] | None = None) -> None:
    """Load a state-dict file into ``module`` exactly, dropping a classifier the module does not have."""
    state = strip_prefix(read_state_dict(path))
    if convert is not None:
        state = convert(state)
    own = module.state_dict()
    classifier = ("fc.", "classifier.", "head.fc.", "head.")
    state = {k: v for k, v in state.items() if k in own or not k.startswith(classifier)}
    load_exact(module, state, str(path))


def make_keras_compatible(backbone: nn.Module) -> nn.Module:
    """Keras' Xception arithmetic: BatchNorm eps 1e-3 and TensorFlow 'same' max-pool padding.

    PyTorch's symmetric ``padding=1`` pools differ from TF 'same' on even-sized maps (74x74 at 299 input),
    where TF pads only at the bottom/right; ``MaxPool2dSame`` pads like TF.
    """
    for module in backbone.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eps = 1e-3
        if isinstance(module, nn.Sequential):
            for i, child in enumerate(module):
                if isinstance(child, nn.MaxPool2d):
                    module[i] = MaxPool2dSame(child.kernel_size, child.stride)
    return backbone


def _transfer(backbone: nn.Module, head: str, dropout: float, input_size: int | None = None,
              preprocess: Preprocess | None = None, blended_offset: float = 0.0,
              generated_scale: float = 1.0) -> TransferModel:
    """Wrap ``backbone``; ``input_size`` overrides the pretrained resolution (a convnet takes any size),
    e.g. 256 to see the 140k faces at their native size instead of resampled."""
    preprocess = preprocess or preprocess_from_timm(backbone)
    if input_size is not None:
        preprocess = dataclasses.replace(preprocess, input_size=(input_size, input_size))
    return TransferModel(backbone, backbone.num_features, preprocess, head, dropout, blended_offset, generated_scale)


@register_model
def xception(pretrained: Pretrained = False, head: str = "mlp", dropout: float = 0.5,
             keras_compatible: bool = True, input_size: int | None = None) -> TransferModel:
    """Recipe 2: Keras' ImageNet Xception (timm ``legacy_xception``) + the paper's Dense 512-128-64-1 head.

    ``keras_compatible`` (default) computes exactly what Keras computes (BN eps, 'same' pooling); it is
    stored with a saved model, so the architecture is rebuilt identically for prediction.
    """
    backbone = timm_backbone("legacy_xception", pretrained)
    if keras_compatible:
        make_keras_compatible(backbone)
    path = weights_file(pretrained)
    if path is not None and path.suffix.lower() in KERAS_SUFFIXES:
        state, _ignored = xception_state_from_keras(path)
        load_exact(backbone, state, str(path))
    elif path is not None:
        load_state_file(backbone, path)
    return _transfer(backbone, head, dropout, input_size)


@register_model
def efficientnet_lite0(pretrained: Pretrained = False, head: str = "linear",
                       dropout: float = 0.2, input_size: int | None = None) -> TransferModel:
    """EfficientNet-Lite0 (timm ``tf_efficientnet_lite0``: TF padding, BN eps 1e-3) + a linear head.

    Accepts timm's own state dict or the official TF weights in EfficientNet-PyTorch layout (``_blocks.N``).
    """
    backbone = timm_backbone("tf_efficientnet_lite0", pretrained)
    path = weights_file(pretrained)
    if path is not None:
        depths = tuple(len(stage) for stage in backbone.blocks)
        load_state_file(backbone, path, lambda s: efficientnet_state_from_lukemelas(s, depths)
                        if "_conv_stem.weight" in s else s)
    return _transfer(backbone, head, dropout, input_size)


class PooledFeatures(nn.Module):
    """A torchvision ``features`` trunk + global average pooling: images -> ``(N, num_features)``."""

    def __init__(self, features: nn.Module, num_features: int) -> None:
        super().__init__()
        self.features = features
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.adaptive_avg_pool2d(self.features(x), 1).flatten(1)


@register_model
def mobilenet_v2(pretrained: Pretrained = False, head: str = "linear", dropout: float = 0.2,
                 input_size: int | None = None) -> TransferModel:
    """torchvision MobileNetV2 (IMAGENET1K_V1 weights and transforms) + a linear head."""
    weights = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    try:
        net = torchvision.models.mobilenet_v2(weights=weights if pretrained is True else None)
    except Exception as exc:  # download errors
        raise _download_error("mobilenet_v2", exc) from None
    backbone = PooledFeatures(net.features, net.last_channel)
    path = weights_file(pretrained)
    if path is not None:
        load_state_file(backbone, path)
    t = weights.transforms()
    preprocess = Preprocess(input_size=(t.crop_size[0], t.crop_size[0]), mean=tuple(t.mean), std=tuple(t.std),
                            interpolation=t.interpolation.value)
    return _transfer(backbone, head, dropout, input_size, preprocess)


@register_model_family("timm")
def timm_model(arch: str, pretrained: Pretrained = False, head: str = "linear",
               dropout: float = 0.2, input_size: int | None = None, blended_offset: float = 0.0,
               generated_scale: float = 1.0) -> TransferModel:
    """Any timm architecture as a backbone: model name ``timm:<arch>``, e.g. ``timm:resnet18``."""
    backbone = timm_backbone(arch, pretrained)
    path = weights_file(pretrained)
    if path is not None:
        load_state_file(backbone, path)
    return _transfer(backbone, head, dropout, input_size, blended_offset=blended_offset,
                     generated_scale=generated_scale)
