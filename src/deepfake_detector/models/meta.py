"""``model.json``, typed: what a model folder says about how to rebuild, feed and read its model.

Validated when a folder is read (one-line :class:`ModelLoadError` naming the file), so the rest of the toolkit
reads attributes, never dict keys. Entries this version does not know are kept as they are (a folder written by
a newer minor version round-trips); ``format_version`` above :data:`FORMAT_VERSION` refuses to load. Torch-free:
the light ONNX path reads it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from deepfake_detector.config import Framing
from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.errors import ModelLoadError

FORMAT_VERSION = 1
COMBINED = "max_of_models"  # registry name of a model made of saved models (models/ensemble.py)
# A second look's reach (logits): on the default model's validation photos every label with it equals the label
# of two looks at every photo (its model card, "A second look").
SECOND_LOOK_WITHIN = 1.0


class _Open(BaseModel):
    """A record that keeps entries it does not name (written by other versions or tools)."""

    model_config = ConfigDict(extra="allow")


class ModelSpec(BaseModel):
    """How to rebuild the network: a registry name (``models/registry.py``) and its arguments."""

    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class ThresholdSelection(_Open):
    """How the stored threshold was chosen: on ``n`` validation inputs, scored with ``faces``."""

    split: str = "valid"
    n: int = 0
    # predict's --faces for the validation photos; None: chosen before evaluation used predict's pipeline
    faces: str | None = None
    val_tpr: float | None = None
    val_fpr: float | None = None
    val_fpr_by_source: dict[str, float] | None = None
    processed_reals: list[str] | None = None  # processing steps whose validation reals the threshold also held


class StoredBand(_Open):
    """The "uncertain" band ``[low, high)`` (``evaluation/uncertainty.py`` chooses it)."""

    low: float
    high: float
    policy: str | None = None
    selection: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> StoredBand:
        if not 0 <= self.low <= self.high <= 1:
            raise ValueError(f"low {self.low} and high {self.high} must satisfy 0 <= low <= high <= 1")
        return self


class SecondLook(BaseModel):
    """A photo whose score lands within ``within`` logits (before the temperature) of a verdict boundary is
    scored again mirrored, each region's logit the mean of the two looks (``inference/analyze.py``). ``within``
    None: every photo is looked at twice (how ``calibrate`` scores, the boundaries being what it chooses)."""

    model_config = ConfigDict(extra="forbid")
    within: float | None = Field(default=SECOND_LOOK_WITHIN, ge=0)


class TrainingInfo(_Open):
    """What the model was trained on (``training/train.py``)."""

    data: str | None = None
    seed: int | None = None
    val_fraction: float | None = None
    n_train: int | None = None
    n_valid: int | None = None
    epochs: int | None = None
    kept: str | None = None
    valid_is_held_out: bool | None = None
    init: str | None = None


class ModelMeta(_Open):
    """One model folder's ``model.json``; ``path`` (the folder it was read from) is not stored."""

    format_version: int = FORMAT_VERSION
    model: ModelSpec | None = None  # None only for a model built in memory (e.g. during training)
    preprocess: Preprocess | None = None
    threshold: float = 0.5
    labels: dict[str, str] = Field(default_factory=lambda: {"0": "real", "1": "fake"})
    score: str = "P(fake) = sigmoid(logit)"
    temperature: float | None = None  # fitted on validation; None: scores as trained
    threshold_policy: str | None = None
    threshold_selection: ThresholdSelection | None = None
    uncertain: StoredBand | None = None
    framing: Framing | None = None  # how predict frames a photo (config.py); None: faces only
    second_look: SecondLook | None = None  # a mirrored look at photos near a boundary; None: one look
    video_threshold: float | None = None
    video_threshold_selection: dict[str, Any] | None = None
    video_uncertain: StoredBand | None = None
    run_name: str | None = None
    paper: str | None = None
    training: TrainingInfo | None = None
    encoder: dict[str, Any] | None = None  # where a frozen encoder's weights come from (models/clip.py)
    weights_sha256: str | None = None
    path: str | None = Field(default=None, exclude=True)

    @classmethod
    def parse(cls, data: ModelMeta | Mapping[str, Any], where: str = "model.json") -> ModelMeta:
        """Validate ``data``; a one-line ModelLoadError naming ``where`` and the first bad entry otherwise."""
        if isinstance(data, ModelMeta):
            return data
        try:
            meta = cls.model_validate(dict(data))
        except ValidationError as exc:
            error = exc.errors()[0]
            entry = ".".join(str(part) for part in error["loc"]) or "model.json"
            raise ModelLoadError(f"{where}: bad '{entry}' ({error['msg']})") from None
        if meta.format_version > FORMAT_VERSION:
            raise ModelLoadError(f"{where}: written by a newer deepfake-detector (format {meta.format_version} > "
                                 f"{FORMAT_VERSION}); upgrade to load it")
        return meta

    @property
    def name(self) -> str:
        """The run's name, else the registry name."""
        return self.run_name or (self.model.name if self.model else "model")

    def updated(self, fields: Mapping[str, Any]) -> ModelMeta:
        """A copy with ``fields`` replaced, validated (e.g. a newly chosen operating point)."""
        return ModelMeta.parse(self.stored() | dict(fields), where=self.path or "model.json").at(self.path)

    def at(self, path: str | None) -> ModelMeta:
        """This metadata, as read from the folder ``path``."""
        self.path = path
        return self

    def stored(self) -> dict[str, Any]:
        """The JSON object ``model.json`` holds (``path`` left out)."""
        return self.model_dump(mode="json", exclude_none=True)
