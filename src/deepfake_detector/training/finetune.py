"""How a model is fitted: plain / full fine-tuning, a frozen backbone with cached features, or staged.

``train.finetune`` picks the strategy for models with ``backbone`` and ``head`` submodules
(``models/transfer.py``):

* ``full``: every weight trains; the backbone's learning rate is ``lr * backbone_lr_scale``.
* ``frozen``: the backbone never changes, so its pooled features are computed ONCE (in eval mode) and
  cached in memory; every epoch then costs only the head (milliseconds on a CPU). Augmentation is kept
  by caching ``feature_views`` passes of the training set: the first unaugmented, the rest augmented.
  The head trains for epochs, or is solved as a logistic regression (``train.head_fit=logistic``).
* ``staged``: Lightning's ``BackboneFinetuning``: head only until epoch ``unfreeze_epoch``, then the
  backbone joins at ``lr * backbone_lr_scale`` (its BatchNorm layers stay frozen).

The saved model is always the full model (backbone + head), so it predicts on raw images.
"""

from __future__ import annotations

import collections
import functools
from dataclasses import dataclass, field

import lightning as L
import torch
from lightning.pytorch.callbacks import BackboneFinetuning
from sklearn.linear_model import LogisticRegression
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset
from tqdm.auto import tqdm

from deepfake_detector.config import ProcessingConfig, RunConfig, TrainConfig
from deepfake_detector.data.blending import BLEND_SOURCE, blend_view_name, blended_samples
from deepfake_detector.data.dataset import EpochClock, EpochWeightedSampler, ImageDataset, make_loader
from deepfake_detector.data.histories import parse_histories
from deepfake_detector.data.perturb import PerturbFn
from deepfake_detector.data.processing import process_image, view_name
from deepfake_detector.data.samples import REAL, BadFile
from deepfake_detector.data.sources import source_name
from deepfake_detector.data.splits import Splits
from deepfake_detector.data.transforms import build_transform, reencode_jpeg
from deepfake_detector.errors import ConfigError
from deepfake_detector.models.base import BackboneAndHead
from deepfake_detector.models.feature_store import FeatureStore, row_key
from deepfake_detector.models.transfer import MaxOfHeads
from deepfake_detector.models.weights.fetch import cache_dir
from deepfake_detector.training.blend_view import BlendView
from deepfake_detector.training.face_view import VIEW_NAME, FaceCropView
from deepfake_detector.training.module import BinaryDetectorModule


@dataclass
class FitPlan:
    module: BinaryDetectorModule
    train_loader: DataLoader
    val_loader: DataLoader
    n_train: int  # rows per training epoch (images, or cached feature rows)
    callbacks: list[L.Callback] = field(default_factory=list)
    datasets: list[ImageDataset] = field(default_factory=list)
    solved: bool = False  # the head is already fitted (train.head_fit=logistic): no epochs to run

    @property
    def bad_files(self) -> list[BadFile]:
        return [b for d in self.datasets for b in d.bad_files]


class HeadOnly(nn.Module):
    """A transfer model's head as a model of its own: cached features -> one logit."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head  # shared: training this trains the full model's head

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
                     desc: str = "Features", store: FeatureStore | None = None,
                     view: str = "clean", seed: int = 0) -> FeatureDataset:
    """Run the (eval-mode) backbone once over ``dataset``; unreadable files go to ``dataset.errors``.

    With a ``store``, rows already computed for this view are read from it and new ones written to it.
    """
    device = _device()
    backbone = backbone.eval().to(device)
    keys = [row_key(s.path, view) for s in dataset.samples] if store is not None else []
    cached = store.get(keys) if store is not None else {}
    todo = [i for i in range(len(dataset)) if not (store is not None and keys[i] in cached)]
    feats, labels, index = [], [], []
    # ``seed`` differs per augmented view: loader workers draw their augmentations from it.
    loader = make_loader(Subset(dataset, todo), batch_size, shuffle=False, num_workers=num_workers, seed=seed)
    for batch in tqdm(loader, desc=desc, unit="batch", disable=not progress or not todo, leave=False):
        dataset.errors.update(dict(batch["bad"]))
        if batch["image"] is not None:
            rows = backbone(batch["image"].to(device)).float().cpu()
            feats.append(rows)
            labels.append(batch["label"])
            index.append(batch["index"])
            if store is not None:
                store.put([keys[i] for i in batch["index"].tolist()], rows)
    done = [i for i in range(len(dataset)) if store is not None and keys[i] in cached]
    if done:
        feats.append(torch.stack([cached[keys[i]] for i in done]))
        labels.append(torch.tensor([float(dataset.samples[i].label) for i in done]))
        index.append(torch.tensor(done, dtype=torch.long))
    if not feats:
        raise ConfigError("no readable training images to compute features from")
    order = torch.cat(index).argsort()
    return FeatureDataset(torch.cat(feats)[order], torch.cat(labels)[order], torch.cat(index)[order])


def _concat(parts: list[FeatureDataset]) -> FeatureDataset:
    columns = ("features", "labels", "index")
    return FeatureDataset(*(torch.cat([getattr(p, c) for p in parts]) for c in columns))


def _has_augmentation(cfg: RunConfig) -> bool:
    a = cfg.augment
    return bool(a.hflip or a.vflip or a.rotation or a.shift or a.zoom)


def _constant(epoch: int) -> float:
    return 1.0


def prepare_fit(cfg: RunConfig, model: nn.Module, splits: Splits, cache: bool | str = "auto",
                progress: bool = True, first_epoch: int = 0) -> FitPlan:
    """Datasets, loaders, Lightning module and callbacks for ``cfg.train.finetune``; ``first_epoch``: the
    epoch a resumed run starts at (its loader draws as an uninterrupted run's would there)."""
    t = cfg.train
    needs_backbone = t.finetune != "full" or t.backbone_lr_scale != 1.0
    if needs_backbone and not isinstance(model, BackboneAndHead):
        raise ConfigError(f"model '{cfg.model.name}' has no pretrained backbone; train.finetune={t.finetune} "
                          "and train.backbone_lr_scale need a transfer model (e.g. xception)")
    pre = model.preprocess
    bs, workers, seed = t.batch_size, cfg.data.num_workers, t.seed
    augmented = build_transform(pre, cfg.augment)
    train_set = ImageDataset(splits.train, pre, augmented, cache=cache, progress=progress)
    val_set = ImageDataset(splits.valid, pre, build_transform(pre), cache=cache, progress=progress)
    # augment.recompress: a copy of every training image (both classes) re-encoded once more as JPEG.
    recompressed = {q: ImageDataset(splits.train, pre, augmented, cache=cache, progress=progress,
                                    perturb=functools.partial(_reencode, quality=q))
                    for q in cfg.augment.recompress}
    # augment.process: seeded processing histories (crops, resizes, blur, colour, JPEG), both classes alike.
    process = cfg.augment.process
    processed = {view_name(process, v, seed): ImageDataset(
        splits.train, pre, augmented, cache=cache, progress=progress,
        perturb=functools.partial(_process, cfg=process, seed=seed, view=v)) for v in range(process.views)}
    # augment.histories: every training image through each fake source's own processing, both classes alike.
    histories = {h.view_name: ImageDataset(splits.train, pre, augmented, cache=cache, progress=progress, perturb=h)
                 for h in parse_histories(cfg.augment.histories)}
    # augment.face_crops: every training image framed as predict frames it (its face's crop), both classes alike.
    framed = ({VIEW_NAME: ImageDataset(splits.train, pre, augmented, cache=cache, progress=progress,
                                       perturb=FaceCropView())} if cfg.augment.face_crops else {})
    # augment.blend: fake copies of the real training faces, a face blended into each (face swaps' traces).
    reals = [s for s in splits.train if s.label == REAL]
    donors = [s.path for s in reals]
    clock = EpochClock(first_epoch)  # the training loader's sampler tells fresh blends the epoch
    blends = {blend_view_name(cfg.augment.blend, v, seed): BlendView(cfg.augment.blend, donors, seed, v, clock)
              for v in range(cfg.augment.blend.views)}
    # blend.processed: each blend also through its own real photo's processing copies, so processing is no evidence
    real_rows = [i for i, s in enumerate(splits.train) if s.label == REAL]
    real_copies = {**processed, **histories, **framed} if cfg.augment.blend.processed else {}
    blend_copies = {f"{name}-{copy_name}": _ProcessedBlend(blend, copy.perturb, real_rows)
                    for name, blend in blends.items() for copy_name, copy in real_copies.items()}
    if cfg.augment.blend.fresh and t.finetune == "frozen":
        raise ConfigError("augment.blend.fresh draws a new blend every time, but a frozen backbone computes each "
                          "view's features once: set train.finetune=full (or staged), or fresh: false")
    # fresh blends are made anew at every draw, so never kept in the decoded-image cache
    blend_cache = False if cfg.augment.blend.fresh else cache
    blended = {name: ImageDataset(blended_samples(reals), pre, augmented, cache=blend_cache, progress=progress,
                                  perturb=perturb) for name, perturb in {**blends, **blend_copies}.items()}
    copies = [*recompressed.values(), *processed.values(), *histories.values(), *framed.values(), *blended.values()]
    datasets = [train_set, val_set, *copies]
    if t.finetune != "frozen":
        if isinstance(model.head, MaxOfHeads):
            raise ConfigError("model.args.head=max2 trains its heads on cached features: it needs "
                              "train.finetune=frozen")
        callbacks: list[L.Callback] = []
        if t.finetune == "staged":
            callbacks.append(BackboneFinetuning(
                unfreeze_backbone_at_epoch=t.unfreeze_epoch, lambda_func=_constant,
                backbone_initial_ratio_lr=t.backbone_lr_scale, should_align=False, train_bn=False))
        train_all = ConcatDataset([train_set, *copies]) if copies else train_set
        labels = [s.label for d in (train_set, *copies) for s in d.samples]
        sources = [s.source for d in (train_set, *copies) for s in d.samples]
        return FitPlan(BinaryDetectorModule(model, t),
                       _train_loader(train_all, labels, sources, cfg, first_epoch, clock),
                       make_loader(val_set, bs, shuffle=False, num_workers=workers, seed=seed),
                       len(train_all), callbacks, datasets)

    model.backbone.requires_grad_(False)
    store = feature_store(cfg, model)
    stored = [(train_set, "train", "clean"),
              *((d, f"train, JPEG q{q}", f"jpeg{q}") for q, d in recompressed.items()),
              *((d, f"train, processed view {v + 1}", name) for v, (name, d) in enumerate(processed.items())),
              *((d, f"train, history {name}", name) for name, d in histories.items()),
              *((d, "train, face crops", name) for name, d in framed.items()),
              *((d, f"train, blended view {v + 1}", name) for v, (name, d) in enumerate(blended.items()))]
    plain = build_transform(pre)
    views = [(d, extract_features(model.backbone, d.with_transform(plain), bs, workers, progress, f"Features: {desc}",
                                  store, name)) for d, desc, name in stored]
    for view in range(1, t.feature_views if _has_augmentation(cfg) else 1):  # random views: never stored
        views.append((train_set, extract_features(model.backbone, train_set, bs, workers, progress,
                                                  f"Features: train view {view + 1}", seed=seed + view)))
    train_feats = _concat([features for _, features in views])
    sources = [d.samples[i].source for d, features in views for i in features.index.tolist()]
    val_feats = extract_features(model.backbone, val_set, bs, workers, progress, "Features: valid", store)
    model.backbone.cpu()
    head = model.head
    if isinstance(head, MaxOfHeads):  # blended head: reals vs blends, now; generated head: the fit below
        is_blend = torch.tensor([s == BLEND_SOURCE for s in sources])
        if not is_blend.any():
            raise ConfigError("model.args.head=max2 needs blended fakes to train its second head: set "
                              "augment.blend.views >= 1")
        fit_linear_head(head.blended, train_feats.features, train_feats.labels,
                        is_blend | (train_feats.labels == REAL), t)
        keep = ~is_blend
        train_feats = FeatureDataset(train_feats.features[keep], train_feats.labels[keep], train_feats.index[keep])
        sources = [s for s, k in zip(sources, keep.tolist(), strict=True) if k]
        head = head.generated
    labels = train_feats.labels.tolist()
    if t.head_fit == "logistic":
        fit_logistic_head(head, train_feats.features, train_feats.labels, _balance_weights(labels, sources, cfg),
                          t.head_c)
    return FitPlan(BinaryDetectorModule(HeadOnly(head), t),
                   _train_loader(train_feats, labels, sources, cfg, first_epoch),
                   make_loader(val_feats, bs, shuffle=False, num_workers=0, seed=seed),
                   len(train_feats), [], datasets, solved=t.head_fit == "logistic")


def fit_linear_head(head: nn.Module, features: torch.Tensor, labels: torch.Tensor, rows: torch.Tensor,
                    t: TrainConfig, steps: int = 300) -> None:
    """Fit ``head`` on the chosen ``rows`` of cached features: full-batch AdamW (``train.lr``,
    ``train.weight_decay``), both classes weighing the same, seeded; seconds on a CPU."""
    x, y = features[rows].float(), labels[rows].float()
    weight = torch.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    torch.manual_seed(t.seed)
    optimizer = torch.optim.AdamW(head.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    head.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (nn.functional.binary_cross_entropy_with_logits(head(x).squeeze(1), y, reduction="none") * weight)
        loss.mean().backward()
        optimizer.step()
    head.eval()


class _ProcessedBlend:
    """The ``index``-th real photo's blend, then the processing copy ``then`` of that photo: the very history
    the photo gets (``rows``: each real photo's row in the training set, where ``then`` is seeded)."""

    def __init__(self, blend: BlendView, then: PerturbFn, rows: list[int]) -> None:
        self.blend, self.then, self.rows = blend, then, rows

    def __call__(self, image: torch.Tensor, index: int) -> torch.Tensor:
        return self.then(self.blend(image, index), self.rows[index])


def fit_logistic_head(head: nn.Module, features: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None,
                      c: float) -> None:
    """Solve a linear ``head`` as L2-regularised logistic regression (inverse strength ``c``) on standardised
    features, to convergence: one answer for the data, no learning rate, epochs or early stopping. The
    standardisation is folded into the head's weights, so the saved model takes the raw features."""
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    if len(linears) != 1:
        raise ConfigError("train.head_fit=logistic solves one linear head: set model.args.head=linear")
    linear = linears[0]
    x = features.double().numpy()
    mean, scale = x.mean(0), x.std(0) + 1e-6
    solver = LogisticRegression(C=c, max_iter=1000)
    solver.fit((x - mean) / scale, labels.numpy().astype(int), sample_weight=None if weights is None
               else (weights * len(weights) / weights.sum()).numpy())
    coef = solver.coef_[0] / scale
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(coef).view_as(linear.weight))
        linear.bias.fill_(float(solver.intercept_[0] - coef @ mean))


def _process(image: torch.Tensor, index: int, cfg: ProcessingConfig, seed: int, view: int) -> torch.Tensor:
    return process_image(image, cfg, seed, view, index)


def _reencode(image: torch.Tensor, index: int, quality: int) -> torch.Tensor:
    return reencode_jpeg(image, quality)


def feature_store(cfg: RunConfig, model: nn.Module) -> FeatureStore | None:
    """The on-disk feature cache, for a frozen backbone that names what it computes."""
    key = model.feature_key() if cfg.data.feature_cache else None
    return FeatureStore(cache_dir() / "features", key) if key else None


def _balance_weights(labels: list, sources: list[str], cfg: RunConfig) -> torch.Tensor | None:
    """Each row's weight under ``data.balance`` (None: every row alike): each class, or each source x class
    group, weighs the same in all, times the source's own weight."""
    if cfg.data.balance == "none":
        return None
    groups = [(int(y),) if cfg.data.balance == "classes" else (int(y), src)
              for y, src in zip(labels, sources, strict=True)]
    counts = collections.Counter(groups)
    source_weight = {source_name(s): s.weight for s in cfg.data.sources} if cfg.data.balance == "sources" else {}
    return torch.tensor([source_weight.get(g[-1], 1.0) / counts[g] for g in groups], dtype=torch.double)


def _train_loader(dataset: Dataset, labels: list, sources: list[str], cfg: RunConfig, first_epoch: int = 0,
                  clock: EpochClock | None = None) -> DataLoader:
    """Shuffled, or with ``data.balance`` drawn so each class (or each source x class group) weighs the same."""
    t = cfg.train
    workers = 0 if isinstance(dataset, FeatureDataset) else cfg.data.num_workers
    weights = _balance_weights(labels, sources, cfg)
    if weights is None:
        return make_loader(dataset, t.batch_size, shuffle=True, num_workers=workers, seed=t.seed)
    sampler = EpochWeightedSampler(weights, t.seed, first_epoch, clock)
    return make_loader(dataset, t.batch_size, shuffle=False, num_workers=workers, seed=t.seed, sampler=sampler)
