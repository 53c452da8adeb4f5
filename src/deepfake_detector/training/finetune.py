"""How a model is fitted: plain / full fine-tuning, a frozen backbone with cached features, or staged.

``train.finetune`` picks the strategy for models with ``backbone`` and ``head`` submodules
(``models/transfer.py``):

* ``full``: every weight trains; the backbone's learning rate is ``lr * backbone_lr_scale``.
* ``frozen``: the backbone never changes, so its pooled features are computed ONCE (in eval mode) and
  cached in memory; every epoch then costs only the head (milliseconds on a CPU). Augmentation is kept
  by caching ``feature_views`` passes of the training set: the first unaugmented, the rest augmented.
* ``staged``: Lightning's ``BackboneFinetuning``: head only until epoch ``unfreeze_epoch``, then the
  backbone joins at ``lr * backbone_lr_scale`` (its BatchNorm layers stay frozen).

The saved model is always the full model (backbone + head), so it predicts on raw images.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightning as L
import torch
from lightning.pytorch.callbacks import BackboneFinetuning
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from deepfake_detector.config import RunConfig
from deepfake_detector.data.dataset import ImageDataset, make_loader
from deepfake_detector.data.samples import BadFile
from deepfake_detector.data.splits import Splits
from deepfake_detector.data.transforms import build_transform
from deepfake_detector.errors import ConfigError
from deepfake_detector.training.module import BinaryDetectorModule


@dataclass
class FitPlan:
    module: BinaryDetectorModule
    train_loader: DataLoader
    val_loader: DataLoader
    n_train: int  # rows per training epoch (images, or cached feature rows)
    callbacks: list[L.Callback] = field(default_factory=list)
    datasets: list[ImageDataset] = field(default_factory=list)

    @property
    def bad_files(self) -> list[BadFile]:
        return [b for d in self.datasets for b in d.bad_files]


class HeadOnly(nn.Module):
    """The head of a transfer model as a model of its own: cached features -> one logit."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.head = model.head  # shared: training this trains the full model's head

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features).squeeze(1)


class FeatureDataset(Dataset):
    """Cached backbone features in the item format of :class:`ImageDataset` (``image`` = feature row)."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> None:
        self.features, self.labels, self.index = features, labels, index

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> dict:
        return {"index": int(self.index[i]), "image": self.features[i], "label": float(self.labels[i])}


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.inference_mode()
def extract_features(backbone: nn.Module, dataset: ImageDataset, batch_size: int,
                     num_workers: int | None = None, progress: bool = True,
                     desc: str = "Features") -> FeatureDataset:
    """Run the (eval-mode) backbone once over ``dataset``; unreadable files go to ``dataset.errors``."""
    device = _device()
    backbone = backbone.eval().to(device)
    feats, labels, index = [], [], []
    loader = make_loader(dataset, batch_size, shuffle=False, num_workers=num_workers)
    for batch in tqdm(loader, desc=desc, unit="batch", disable=not progress, leave=False):
        dataset.errors.update(dict(batch["bad"]))
        if batch["image"] is not None:
            feats.append(backbone(batch["image"].to(device)).float().cpu())
            labels.append(batch["label"])
            index.append(batch["index"])
    if not feats:
        raise ConfigError("no readable training images to compute features from")
    return FeatureDataset(torch.cat(feats), torch.cat(labels), torch.cat(index))


def _concat(parts: list[FeatureDataset]) -> FeatureDataset:
    columns = ("features", "labels", "index")
    return FeatureDataset(*(torch.cat([getattr(p, c) for p in parts]) for c in columns))


def _has_augmentation(cfg: RunConfig) -> bool:
    a = cfg.augment
    return bool(a.hflip or a.vflip or a.rotation or a.shift or a.zoom)


def _constant(epoch: int) -> float:
    return 1.0


def prepare_fit(cfg: RunConfig, model: nn.Module, splits: Splits, cache: bool | str = "auto",
                progress: bool = True) -> FitPlan:
    """Datasets, loaders, Lightning module and callbacks for ``cfg.train.finetune``."""
    t = cfg.train
    needs_backbone = t.finetune != "full" or t.backbone_lr_scale != 1.0
    if needs_backbone and not isinstance(getattr(model, "backbone", None), nn.Module):
        raise ConfigError(f"model '{cfg.model.name}' has no pretrained backbone; train.finetune={t.finetune} "
                          "and train.backbone_lr_scale need a transfer model (e.g. xception)")
    pre = model.preprocess
    bs, workers, seed = t.batch_size, cfg.data.num_workers, t.seed
    augmented = build_transform(pre, cfg.augment)
    train_set = ImageDataset(splits.train, pre, augmented, cache=cache, progress=progress)
    val_set = ImageDataset(splits.valid, pre, build_transform(pre), cache=cache, progress=progress)
    if t.finetune != "frozen":
        callbacks: list[L.Callback] = []
        if t.finetune == "staged":
            callbacks.append(BackboneFinetuning(
                unfreeze_backbone_at_epoch=t.unfreeze_epoch, lambda_func=_constant,
                backbone_initial_ratio_lr=t.backbone_lr_scale, should_align=False, train_bn=False))
        return FitPlan(BinaryDetectorModule(model, t),
                       make_loader(train_set, bs, shuffle=True, num_workers=workers, seed=seed),
                       make_loader(val_set, bs, shuffle=False, num_workers=workers, seed=seed),
                       len(splits.train), callbacks, [train_set, val_set])

    model.backbone.requires_grad_(False)
    views = []
    for view in range(t.feature_views if _has_augmentation(cfg) else 1):
        train_set.transform = augmented if view else build_transform(pre)
        views.append(extract_features(model.backbone, train_set, bs, workers, progress,
                                      f"Features: train view {view + 1}"))
    train_feats = _concat(views)
    val_feats = extract_features(model.backbone, val_set, bs, workers, progress, "Features: valid")
    model.backbone.cpu()
    return FitPlan(BinaryDetectorModule(HeadOnly(model), t),
                   make_loader(train_feats, bs, shuffle=True, num_workers=0, seed=seed),
                   make_loader(val_feats, bs, shuffle=False, num_workers=0, seed=seed),
                   len(train_feats), [], [train_set, val_set])
