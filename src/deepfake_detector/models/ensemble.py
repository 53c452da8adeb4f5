"""One detector made of several: the largest of their logits, each shifted to its own operating point.

Detectors that look for different evidence (the CLIP detector: whole faces a generator made; the blend
detector: a face pasted into a real photo) each decide well on their own kind of fake and say "real" on the
other. Their maximum says "fake" when any of them does. Each member's logit is first put on the first member's
scale: divided by its own temperature and shifted so that its own threshold falls on the first member's, then
lowered by ``offset`` (a member that should speak only when it is sure gets a larger offset). Where the first
member decides, the combined P(fake) is its calibrated P(fake). The combined model is then calibrated as one
(temperature, threshold, uncertain band) like any other, on validation.

Members are registry models with their saved weights inside the combined folder (``members.<i>.`` keys), so the
folder alone rebuilds it; every member sees the same face crop at the same size and normalises it itself.
``deepfake-detector combine`` builds one from saved model folders.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from torch import nn

from deepfake_detector.config import format_validation_error
from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.data.splits import SPLITS_FILE, read_splits
from deepfake_detector.errors import ConfigError
from deepfake_detector.models.artifacts import load_model, save_model
from deepfake_detector.models.base import DetectorModel
from deepfake_detector.models.bundled import BUNDLED, bundled_model_dir
from deepfake_detector.models.cam import CamTarget
from deepfake_detector.models.meta import COMBINED, ModelMeta, TrainingInfo
from deepfake_detector.models.registry import create_model, register_model
from deepfake_detector.models.views import ORIGINAL, Runner, TestTimeViews, check_view
from deepfake_detector.utils.atomic import write_text
from deepfake_detector.utils.owned import is_empty, mark, remove_owned


class MemberSpec(BaseModel):
    """One member of a :class:`MaxOfModels`: how to rebuild it and where its operating point is."""

    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    temperature: float = Field(default=1.0, gt=0)
    threshold: float = Field(default=0.5, gt=0, lt=1)
    offset: float = 0.0
    label: str | None = None  # what the member looks for, e.g. its run name (reports, model card)
    # test-time views whose logits are averaged (models/views.py); temperature and threshold stay the member's own
    views: list[str] = Field(default_factory=lambda: [ORIGINAL])

    @field_validator("views")
    @classmethod
    def _known_views(cls, views: list[str]) -> list[str]:
        return [check_view(v) for v in views]

    @property
    def threshold_logit(self) -> float:
        return math.log(self.threshold / (1 - self.threshold))


class _Normalise(nn.Module):
    """[0, 1] pixels -> a member's own normalisation."""

    def __init__(self, preprocess: Preprocess) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(preprocess.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(preprocess.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class MaxOfModels(DetectorModel):
    """``max_i (logit_i / temperature_i - logit(threshold_i) - offset_i) + logit(threshold_1)`` over members."""

    def __init__(self, members: list[DetectorModel], specs: list[MemberSpec]) -> None:
        super().__init__()
        sizes = {m.preprocess.input_size for m in members}
        if len(sizes) != 1:
            raise ConfigError(f"max_of_models: members must share one input size, not {sorted(sizes)}")
        self.members = nn.ModuleList(members)
        self.normalise = nn.ModuleList(_Normalise(m.preprocess) for m in members)
        self.views = nn.ModuleList(TestTimeViews(s.views) for s in specs)
        self.register_buffer("scale", torch.tensor([1 / s.temperature for s in specs]), persistent=False)
        shifts = [s.threshold_logit + s.offset - specs[0].threshold_logit for s in specs]
        self.register_buffer("shift", torch.tensor(shifts), persistent=False)
        first = members[0].preprocess
        # Members see the same crop resized once (the first member's way); each normalises it itself.
        self.preprocess = Preprocess(input_size=first.input_size, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0),
                                     interpolation=first.interpolation)

    def member_inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[0, 1] pixels, normalised as each member expects."""
        return [norm(x) for norm in self.normalise]

    def on_common_scale(self, raw: torch.Tensor) -> torch.Tensor:
        """(N, members) raw member logits -> on the first member's scale (each member's own operating point at the
        first member's, less its offset)."""
        return raw.float() * self.scale - self.shift

    def raw_logits(self, x: torch.Tensor, runners: list[Runner] | None = None) -> torch.Tensor:
        """(N, members): each member's own logit, averaged over its test-time views; ``runners`` compute a
        member's logits instead of the member itself (e.g. from cached encoder features)."""
        runs = runners or list(self.members)
        return torch.stack([views(run, part).float() for views, run, part
                            in zip(self.views, runs, self.member_inputs(x), strict=True)], dim=1)

    def member_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, members): every member's logit on the common scale."""
        return self.on_common_scale(self.raw_logits(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.member_logits(x).amax(dim=1)

    @property
    def onnx_auto(self) -> bool:  # type: ignore[override]
        return all(m.onnx_auto for m in self.members)

    @property
    def stores_every_weight(self) -> bool:
        return all(m.stores_every_weight for m in self.members)

    def saved_state_dict(self) -> dict[str, torch.Tensor]:
        return {f"members.{i}.{k}": v for i, m in enumerate(self.members) for k, v in m.saved_state_dict().items()}

    def saved_info(self) -> dict[str, Any]:
        return {k: v for m in self.members for k, v in m.saved_info().items()}

    def check_saved_info(self, meta: ModelMeta) -> None:
        for member in self.members:
            member.check_saved_info(meta)

    def cam_target(self) -> CamTarget:
        """The first member's layer (see :meth:`explained` for the one that decided an input)."""
        return self.members[0].cam_target()

    def explained(self, x: torch.Tensor) -> tuple[nn.Module, CamTarget]:
        """The member whose logit is the largest on ``x``: an explanation shows what the detector that decided
        looked at (a pasted face's boundary, not the generator detector's indifferent map)."""
        with torch.no_grad():
            deciding = int(self.member_logits(x).amax(dim=0).argmax())
        member = self.members[deciding]
        return nn.Sequential(self.normalise[deciding], member), member.cam_target()


def member_specs(members: list[dict[str, Any]]) -> list[MemberSpec]:
    """Validated member entries; a one-line ConfigError naming the bad one."""
    if not isinstance(members, list) or not members:
        raise ConfigError("max_of_models: members must be a non-empty list")
    specs = []
    for i, entry in enumerate(members):
        try:
            specs.append(MemberSpec.model_validate(entry))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, f"max_of_models member {i + 1}")) from None
    return specs


@register_model
def max_of_models(members: list[dict[str, Any]]) -> MaxOfModels:
    """The largest of several registry models' logits, each at its own operating point (see module doc)."""
    specs = member_specs(members)
    if any(s.name == COMBINED for s in specs):
        raise ConfigError("max_of_models: a member cannot itself be a max_of_models")
    return MaxOfModels([create_model(s.name, **s.args) for s in specs], specs)


def combine_saved_models(folders: list[str | Path], offsets: list[float], out: str | Path, *,
                         views: list[list[str]] | None = None, overwrite: bool = False) -> Path:
    """Write a :class:`MaxOfModels` of saved model folders (each at its stored temperature and threshold, later ones
    lowered by ``offsets``) into ``out``, with the first folder's framing, threshold policy, training record and
    split lists, so that ``calibrate`` and ``evaluate`` treat it as a run; ``views``: each member's test-time views
    (``models/views.py``; default: the input as it is). Refuses when a later member trained on
    the first one's validation or test images: the combined model's figures on them would not be held out.
    An existing ``out`` is replaced only with ``overwrite`` and only if this toolkit made it."""
    if len(folders) < 2 or len(offsets) != len(folders) - 1:
        raise ConfigError("combine: give two or more model folders and one offset per folder after the first")
    views = views or [[ORIGINAL]] * len(folders)
    if len(views) != len(folders):
        raise ConfigError(f"combine: give test-time views for each of the {len(folders)} models, not {len(views)}")
    loaded = [load_model(bundled_model_dir(str(f)) if str(f) in BUNDLED else Path(f)) for f in folders]
    metas = [meta for _, meta in loaded]
    held_out = _paths(metas[0], "valid", "test")
    for meta in metas[1:]:
        seen = held_out & _paths(meta, "train")
        if seen:
            raise ConfigError(f"combine: {meta.path} trained on {len(seen)} of {metas[0].path}'s validation/test "
                              f"images (e.g. {sorted(seen)[0]}): the combined model could not be evaluated fairly")
    specs = [MemberSpec(name=meta.model.name, args=meta.model.args, temperature=meta.temperature or 1.0,
                        threshold=meta.threshold, offset=offset, label=meta.run_name or Path(str(meta.path)).name,
                        views=member_views)
             for meta, offset, member_views in zip(metas, [0.0, *offsets], views, strict=True)]
    combined = MaxOfModels([model for model, _ in loaded], specs)
    out = Path(out)
    if not is_empty(out):
        if not overwrite:
            raise ConfigError(f"{out}: folder already exists; choose a new one or pass --overwrite")
        remove_owned(out, protect=[Path(str(m.path)) for m in metas])
    mark(out, "combined model")
    # The first member's operating point until `calibrate` chooses the combined one.
    save_model(combined, out, name=COMBINED, args={"members": [s.model_dump() for s in specs]},
               threshold=specs[0].threshold, info={"framing": metas[0].framing, "run_name": out.name,
                                    "threshold_policy": metas[0].threshold_policy, "training": _training(metas)})
    first_splits = Path(str(metas[0].path)) / SPLITS_FILE
    if first_splits.is_file():
        write_text(out / SPLITS_FILE, first_splits.read_text(encoding="utf-8"))
    return out


def _paths(meta: ModelMeta, *splits: str) -> set[str]:
    file = Path(str(meta.path)) / SPLITS_FILE
    if not file.is_file():
        return set()
    parts = read_splits(file)
    return {os.path.abspath(s.path) for name in splits for s in parts.get(name, [])}  # runs of either path style


def _training(metas: list[ModelMeta]) -> TrainingInfo | None:
    """The first member's training record, its data naming every member's sources."""
    first = metas[0].training
    if first is None:
        return None
    parts = [part for meta in metas if meta.training and meta.training.data for part in meta.training.data.split(" + ")]
    return first.model_copy(update={"data": " + ".join(dict.fromkeys(parts))}) if parts else first
