"""Typed run configuration: YAML recipe + ``key=value`` overrides, validated before any work starts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from deepfake_detector.errors import ConfigError, first_line

# Decision-threshold policies (evaluation/thresholds.py applies them to validation scores).
POLICY_HELP = ("a number in (0, 1) such as 0.5, 'youden', 'eer', 'fpr:<target>' such as fpr:0.05, or "
               "'fpr:<target>@worst-source' such as fpr:0.02@worst-source")
WORST_SOURCE = "@worst-source"  # the FPR target holds for every real source, not only for the pooled reals


def parse_policy(policy: str | float) -> str:
    """Validate a policy and return it in canonical form; ValueError with a clear message otherwise."""
    text = str(policy).strip().lower()
    if text in ("youden", "eer"):
        return text
    number, prefix, suffix = text, "", ""
    if text.startswith("fpr:"):
        number, prefix = text[4:], "fpr:"
        if number.endswith(WORST_SOURCE):
            number, suffix = number[:-len(WORST_SOURCE)], WORST_SOURCE
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"threshold policy {policy!r} not understood; use {POLICY_HELP}") from None
    if not 0 < value < 1:
        what = "target false-positive rate" if prefix else "threshold"
        raise ValueError(f"{what} must lie strictly between 0 and 1")
    return f"{prefix}{value:g}{suffix}"


# How a model looks at a photo when predict searches its faces (model.json "framing"): its faces only; its
# faces and the whole photo (image score: the largest); or its faces and the whole photo where a face that fills
# most of the photo is averaged with it (two looks at nearly the same pixels; inference/regions.py). Video frames
# are always scored by their faces.
FACES_ONLY, FACES_AND_IMAGE, FACES_AND_IMAGE_MEAN = "faces", "faces+image", "faces+image-mean"
Framing = Literal["faces", "faces+image", "faces+image-mean"]
FRAMINGS = (FACES_ONLY, FACES_AND_IMAGE, FACES_AND_IMAGE_MEAN)
WITH_IMAGE = (FACES_AND_IMAGE, FACES_AND_IMAGE_MEAN)  # the framings that score the whole photo too


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Strict):
    name: str = "seed_cnn"
    # Passed to the model factory, e.g. input_size, dropout, pretrained.
    args: dict[str, Any] = Field(default_factory=dict)
    # Start from the weights of a saved model folder, or a bundled model ("default"), of the same architecture;
    # init_head: false takes everything but its head (a head that saw data the run must not see, e.g. a
    # leave-one-out fold's left-out generator).
    init: str | None = None
    init_head: bool = True


class SourceConfig(_Strict):
    """One source of a multi-source training set: a dataset folder or CSV (both classes or only one)."""

    path: str
    name: str | None = None  # default: the folder's name
    # Sources without their own test/ (valid/) folders are split, seeded and stratified, by these fractions.
    test_fraction: float = Field(0.2, ge=0, lt=1)
    weight: float = Field(1.0, gt=0, description="relative sampling weight with data.balance=sources")
    # Keep only these classes of the source, e.g. [real] for the real photos of a set whose fakes are
    # another kind of manipulation; every class by default.
    classes: list[Literal["real", "fake"]] | None = Field(None, min_length=1)


class DataConfig(_Strict):
    path: str | None = None
    # Several sources instead of one path: each keeps its name; splits are made per source (see data/sources.py).
    sources: list[SourceConfig] = Field(default_factory=list)
    val_fraction: float = Field(0.2, gt=0, lt=1)
    limit: int | None = Field(None, ge=2, description="class-balanced subsample of the training split")
    cache: Literal["auto", "on", "off"] = "auto"
    num_workers: int | None = Field(None, ge=0)
    # Draw training batches so each class ("classes") or each source x class group ("sources") weighs the same.
    balance: Literal["none", "classes", "sources"] = "none"
    # Keep a frozen backbone's features on disk, keyed by image content (training/feature_store.py).
    feature_cache: bool = True

    @model_validator(mode="after")
    def _one_kind_of_data(self) -> DataConfig:
        if self.path is not None and self.sources:
            raise ValueError("give either data.path (one dataset) or data.sources (several), not both")
        names = [s.name or Path(s.path).name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"data.sources need distinct names (got {names})")
        return self


class ProcessingConfig(_Strict):
    """Processing augmentation (data/processing.py): ``views`` copies of every training image, both classes
    alike, each put through a random but seeded history: a crop (down to ``crop`` of the side: tighter
    framing), a downscale (down to ``downscale``; the model input resize brings it back up), blur or
    sharpening, colour changes and a JPEG re-encode, each with its probability."""

    views: int = Field(0, ge=0, le=16)
    crop: float = Field(0.6, gt=0.25, le=1)
    downscale: float = Field(0.3, gt=0.05, le=1)
    p_downscale: float = Field(0.6, ge=0, le=1)
    jpeg: tuple[int, int] = (40, 95)
    p_jpeg: float = Field(0.8, ge=0, le=1)
    p_blur: float = Field(0.2, ge=0, le=1)
    p_sharpen: float = Field(0.15, ge=0, le=1)
    p_color: float = Field(0.5, ge=0, le=1)

    @field_validator("jpeg")
    @classmethod
    def _quality_range(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= v[0] <= v[1] <= 100:
            raise ValueError("must be [lowest, highest] JPEG quality, 1 <= lowest <= highest <= 100")
        return v


# The processing histories data/histories.py defines (tests check the two lists agree).
HistoryName = Literal["sdxl-tile", "sd21", "jpeg-q75", "jpeg-q90"]


class BlendConfig(_Strict):
    """Blended fakes from real faces (data/blending.py): ``views`` fake copies of every real training image,
    each the photo's own face blended back into it (Self-Blended Images) or, with probability ``p_swap``,
    another real training face aligned and pasted over it; labelled fake, source ``blend``. With probability
    ``p_part`` a blend covers only some facial parts (eyes, nose, mouth), as a hand edit of a part does. With
    probability ``p_seamless`` a swap is Poisson-cloned (OpenCV's seamless cloning, as face-swap tools offer)
    instead of pasted through a blurred mask: no colour step at the boundary, only texture and sharpness.

    ``processed``: every blended view is also seen through each processing copy the reals get (the views of
    ``augment.process``, ``augment.histories`` and ``augment.face_crops``; the same history as its own real
    photo), so that being processed (cropped, blurred, resized, JPEG) is evidence of neither class.

    ``fresh``: every draw of a blended training image is a new blend (as SBI makes them, on the fly), not the
    same picture every epoch; the first draw is the fixed view's. Seeded by the epoch and the draw's number in
    it, so a run is the same with the same loader workers, and a resumed run draws what an uninterrupted one
    would (its sampler replays the epochs already trained). Needs a backbone that trains (a frozen one caches
    each view once)."""

    views: int = Field(0, ge=0, le=8)
    p_swap: float = Field(0.0, ge=0, le=1)
    p_part: float = Field(0.0, ge=0, le=1)
    p_seamless: float = Field(0.0, ge=0, le=1)
    processed: bool = False
    fresh: bool = False


class AugmentConfig(_Strict):
    """Training-set augmentation (Keras-style): flips, rotation in degrees, shift and zoom fractions.

    ``crop`` < 1 trains on random square crops of that fraction of the input side, cut without
    resampling (GAN traces are pixel-level; rotation and zoom blur them); evaluation sees whole images.
    """

    hflip: bool = False
    vflip: bool = False
    rotation: float = Field(0.0, ge=0, le=180)
    shift: float = Field(0.0, ge=0, lt=1)
    zoom: float = Field(0.0, ge=0, lt=1)
    crop: float = Field(1.0, gt=0.25, le=1)
    # Each JPEG quality adds a copy of every training image re-encoded once more at it, both classes alike,
    # so that re-saving a photo (as every upload and messenger does) is not mistaken for evidence.
    recompress: list[int] = Field(default_factory=list)
    process: ProcessingConfig = Field(default_factory=ProcessingConfig)
    # Each named history (data/histories.py: a fake source's own processing, e.g. sdxl-tile) adds a copy of
    # every training image put through it, both classes alike, so that history is no evidence of a fake.
    histories: list[HistoryName] = Field(default_factory=list)
    # A copy of every training image cut to its face as predict cuts it (training/face_view.py), both classes
    # alike, so the head knows the framing it is asked about by default.
    face_crops: bool = False
    blend: BlendConfig = Field(default_factory=BlendConfig)

    @field_validator("recompress")
    @classmethod
    def _qualities(cls, v: list[int]) -> list[int]:
        if not all(1 <= q <= 100 for q in v):
            raise ValueError("JPEG qualities must be between 1 and 100")
        return sorted(set(v))


class TrainConfig(_Strict):
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(32, ge=1)
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    seed: int = 42
    # Which weights become the saved model: the best validation loss, or the last epoch (as Keras saves).
    keep: Literal["best", "last"] = "best"
    early_stopping_patience: int | None = Field(None, ge=1)
    # Decision threshold, chosen on the validation split after training: a number in (0, 1), "youden",
    # "eer", "fpr:<target>" (e.g. fpr:0.05) or "fpr:<target>@worst-source" (every real source's FPR at most
    # the target); see evaluation/thresholds.py. Optionally temperature-scale the scores first (T fitted on
    # validation, stored in model.json).
    threshold: str = "0.5"
    temperature_scaling: bool = False
    # An "uncertain" band around the threshold, chosen on validation after it (evaluation/uncertainty.py):
    # the narrowest band outside which verdicts are right this often (e.g. 0.98); null: no band.
    uncertain: float | None = Field(None, gt=0.5, le=1)
    # How predict looks at a photo whose faces it finds (stored in model.json; calibration scores that way):
    # "faces" (each face's crop), "faces+image" (and the whole photo too; image score: the largest) or
    # "faces+image-mean" (as faces+image, but a face filling most of the photo is averaged with it).
    framing: Framing = FACES_ONLY
    # Transfer learning, for models with a pretrained backbone (see training/finetune.py): "full" trains
    # everything (backbone LR = lr * backbone_lr_scale); "frozen" caches the backbone's features once
    # (feature_views passes: the first clean, the rest augmented) and trains only the head; "staged"
    # trains the head, then also the backbone from epoch unfreeze_epoch at lr * backbone_lr_scale.
    finetune: Literal["full", "frozen", "staged"] = "full"
    backbone_lr_scale: float = Field(1.0, gt=0, le=1)
    unfreeze_epoch: int = Field(1, ge=1)
    feature_views: int = Field(1, ge=1, le=32)
    # How a frozen backbone's linear head is fitted: "epochs" (the loop: optimizer, lr, epochs, keep) or
    # "logistic": L2-regularised logistic regression on standardised features, solved to convergence (L-BFGS),
    # data.balance as sample weights; head_c is the inverse regularisation strength (smaller: stronger). No
    # epochs and no validation loss take part, so the validation split only chooses the operating point.
    head_fit: Literal["epochs", "logistic"] = "epochs"
    head_c: float = Field(0.01, gt=0)
    accelerator: str = "auto"
    devices: int | str = "auto"
    num_nodes: int = Field(1, ge=1)
    strategy: str = "auto"
    precision: str | None = None

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold_policy(cls, v: Any) -> str:
        return parse_policy(v)

    @model_validator(mode="after")
    def _staged_unfreezes(self) -> TrainConfig:
        if self.finetune == "staged" and self.unfreeze_epoch >= self.epochs:
            raise ValueError(f"staged fine-tuning unfreezes at epoch {self.unfreeze_epoch}, but training "
                             f"stops after {self.epochs} epochs; lower train.unfreeze_epoch")
        return self

    @model_validator(mode="after")
    def _logistic_needs_cached_features(self) -> TrainConfig:
        if self.head_fit == "logistic" and self.finetune != "frozen":
            raise ValueError("train.head_fit=logistic solves a head on cached features: it needs train.finetune=frozen")
        return self


class RunConfig(_Strict):
    name: str = "run"
    # Which published result this recipe reproduces (see evaluation/paper.py), if any.
    paper: str | None = None
    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, v: str) -> str:
        # The name becomes a folder (runs/<name>, compare's <out>/<name>): no '.', '..', separators or roots.
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", v or "") or v.strip(".") == "":
            raise ValueError("must be a simple name (letters, digits, '_', '-', '.', '+'; not starting with "
                             "'.' and without '/' or '\\')")
        return v

    @model_validator(mode="after")
    def _logistic_needs_a_linear_head(self) -> RunConfig:
        # checked here, before the feature pass, rather than when the head is solved an hour later
        head = self.model.args.get("head", "linear")
        if self.train.head_fit == "logistic" and head != "linear":
            raise ValueError(f"train.head_fit=logistic solves one linear head, not head={head}: set "
                             "model.args.head=linear, or train.head_fit=epochs")
        return self

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def format_validation_error(exc: ValidationError, source: str) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "config"
    got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
    more = f"; and {len(exc.errors()) - 1} more problem(s)" if len(exc.errors()) > 1 else ""
    return f"{source}: {where}: {err['msg']}{got}{more}"


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``a.b.c=value`` strings (values parsed as YAML: numbers, booleans, lists)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override '{item}' must look like key=value, e.g. train.epochs=3")
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError:
            value = raw
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{item}': '{part}' is not a section")
        node[leaf] = value
    return data


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Load a YAML recipe (or the defaults), apply overrides and validate."""
    data: dict = {}
    source = "config"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({first_line(exc)})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    data = apply_overrides(data, overrides or [])
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
