"""The Lightning module: any registered model + binary cross-entropy on one logit per image."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from deepfake_detector.config import TrainConfig
from deepfake_detector.models.base import BackboneAndHead


class BinaryDetectorModule(L.LightningModule):
    def __init__(self, model: nn.Module, train_cfg: TrainConfig) -> None:
        super().__init__()
        self.model = model
        self.cfg = train_cfg
        self.loss_fn = nn.BCEWithLogitsLoss()
        # (stage, sample index) -> reason, for files skipped while training
        self.bad_seen: dict[tuple[str, int], str] = {}

    @property
    def backbone(self) -> nn.Module | None:
        """The model's pretrained trunk, if any (what Lightning's ``BackboneFinetuning`` unfreezes)."""
        return self.model.backbone if isinstance(self.model, BackboneAndHead) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 4:  # image batches: channels-last, as the model's weights (see on_fit_start)
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x)

    def on_fit_start(self) -> None:
        """Channels-last weights: oneDNN's fast convolution path. On CPU it speeds up the seed CNN's
        training step ~1.4x and makes depthwise convolutions (EfficientNet, MobileNet) trainable at all:
        their backward pass is ~40x slower in the default layout (docs/benchmarks.md)."""
        self.model.to(memory_format=torch.channels_last)

    def _step(self, batch: dict, stage: str) -> torch.Tensor | None:
        for index, reason in batch["bad"]:
            self.bad_seen[(stage, index)] = reason
        if batch["image"] is None:
            return None  # every file of this batch was bad: Lightning skips the step
        logits = self(batch["image"])
        labels = batch["label"]
        loss = self.loss_fn(logits.float(), labels)
        acc = ((logits > 0).float() == labels).float().mean()
        n = len(labels)
        self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=n, sync_dist=True)
        self.log(f"{stage}_acc", acc, on_step=False, on_epoch=True, prog_bar=True, batch_size=n, sync_dist=True)
        return loss

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        cfg = self.cfg
        trainable = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        params = [{"params": [p for n, p in trainable if not n.startswith("backbone.")]}]
        backbone = [p for n, p in trainable if n.startswith("backbone.")]
        if backbone:  # transfer models: the pretrained trunk learns more slowly (train.backbone_lr_scale)
            params.append({"params": backbone, "lr": cfg.lr * cfg.backbone_lr_scale})
        params = [g for g in params if g["params"]]
        if cfg.optimizer == "adam":
            return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
