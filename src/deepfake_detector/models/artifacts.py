"""A saved model is a folder: ``model.safetensors`` (weights) + ``model.json`` (how to rebuild and use it).

``model.json`` holds the registry name and arguments, the preprocessing, the decision threshold and
the label convention, so the folder alone is enough to predict; no code or config file is needed.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from deepfake_detector.data.samples import LABEL_NAMES
from deepfake_detector.errors import DeepfakeDetectorError, ModelLoadError, first_line
from deepfake_detector.models import create_model
from deepfake_detector.models.bundled import BUNDLED, META_FILE, WEIGHTS_FILE, bundled_model_dir, read_meta
from deepfake_detector.models.meta import COMBINED, FORMAT_VERSION, ModelMeta, ModelSpec
from deepfake_detector.utils.atomic import atomic_path, write_text
from deepfake_detector.utils.hashing import file_sha256


def save_model(model: nn.Module, folder: str | Path, *, name: str, args: dict, threshold: float,
               info: Mapping[str, Any] | None = None) -> Path:
    """Write weights and metadata atomically into ``folder``.

    ``model.json`` records the weights' SHA-256 and is written last: a crash between the two writes
    leaves a pair that :func:`load_model` recognises as mismatched instead of silently using it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # A model may keep some weights outside its folder (a frozen encoder from the weights cache).
    own = model.saved_state_dict()
    state = {k: v.detach().cpu().contiguous() for k, v in own.items()}
    info = {**model.saved_info(), **(info or {})}
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp))
        digest = file_sha256(tmp)
    meta = ModelMeta.parse({
        "format_version": FORMAT_VERSION,
        "model": {"name": name, "args": {k: v for k, v in args.items() if k != "pretrained"}},
        "preprocess": model.preprocess,
        "threshold": threshold,
        "labels": {str(k): v for k, v in LABEL_NAMES.items()},
        **info,
        "weights_sha256": digest,
    }, where=str(folder / META_FILE))
    write_meta(folder, meta)
    return folder


def write_meta(folder: str | Path, meta: ModelMeta) -> None:
    """Rewrite ``model.json`` alone (e.g. a new threshold): the weights file is left as it is."""
    write_text(Path(folder) / META_FILE, json.dumps(meta.stored(), indent=2))


def cast_like(state: dict[str, torch.Tensor], own: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cast stored floating tensors (e.g. fp16 weights) to the dtype of the model's own tensors."""
    return {k: v.to(own[k].dtype) if k in own and v.is_floating_point() and own[k].is_floating_point() else v
            for k, v in state.items()}


def load_model(folder: str | Path) -> tuple[nn.Module, ModelMeta]:
    """Rebuild the model by name and load its weights; returns ``(model in eval mode, meta)``."""
    folder = Path(folder)
    meta = read_meta(folder)
    spec = meta.model
    model = create_model(spec.name, **spec.args)
    load_saved_weights(model, folder, meta)
    # The saved preprocessing is the contract: a library upgrade must not silently change it.
    if meta.preprocess is not None and meta.preprocess != model.preprocess:
        warnings.warn(f"{folder}: this library builds {spec.name} with other preprocessing than the "
                      "saved model; using the saved one", stacklevel=2)
        model.preprocess = meta.preprocess
    return model.eval(), meta


def init_from_saved(model: nn.Module, name: str, source: str | Path, head: str | None = None,
                    with_head: bool = True) -> None:
    """Start training ``model`` (registry name ``name``) from the weights of a saved model folder or bundled
    model of the same architecture, e.g. a new head on the default detector's fine-tuned encoder blocks. With
    another ``head`` kind than the saved model's, everything but the head is taken; but a saved linear head
    starts the generated-faces head of a ``max2`` model (what it learnt is that head's job), as it starts the
    head of a linear model, and a saved ``max2`` model's generated-faces head starts a linear model's head (a
    default with a blended head grafted on, scripts/graft_blended_head.py, still starts its own recipe).
    ``with_head=False``: everything but the head, whatever its kind."""
    folder = bundled_model_dir(str(source)) if str(source) in BUNDLED else Path(source).expanduser()
    meta = read_meta(folder)
    spec, prefix = meta.model, ""
    if spec.name == COMBINED and name != COMBINED:  # a combined model: its member of this architecture
        names = [member.get("name") for member in spec.args.get("members", [])]
        if name not in names:
            raise ModelLoadError(f"{folder}: none of its members ({', '.join(map(str, names))}) is a '{name}' model")
        index = names.index(name)
        member = spec.args["members"][index]
        spec, prefix = ModelSpec(name=name, args=member.get("args", {})), f"members.{index}."
    if spec.name != name:
        raise ModelLoadError(f"{folder}: a '{spec.name}' model cannot initialise a '{name}' model")
    if not with_head:
        load_saved_weights(model, folder, meta, skip="head.", prefix=prefix)
        return
    saved_head = spec.args.get("head", "linear")
    # a linear head and a max2 model's generated-faces head do the same job: either starts the other
    rename = {("max2", "linear"): ("head.", "head.generated."), ("linear", "max2"): ("head.generated.", "head.")}
    if (head, saved_head) in rename:
        load_saved_weights(model, folder, meta, skip="head.blended.", prefix=prefix, rename=rename[head, saved_head])
        return
    load_saved_weights(model, folder, meta, skip="head." if head is not None and head != saved_head else None,
                       prefix=prefix)


def load_saved_weights(model: nn.Module, folder: Path, meta: ModelMeta, skip: str | None = None,
                       prefix: str = "", rename: tuple[str, str] | None = None) -> None:
    """Load ``folder``'s weights (checked against ``meta``) into ``model``, but those whose names start with
    ``skip``; only those under ``prefix`` (a combined model's member), without it; names starting with
    ``rename[0]`` under ``rename[1]`` instead; one-line ModelLoadError otherwise."""
    try:
        expected = meta.weights_sha256
        if expected and file_sha256(folder / WEIGHTS_FILE) != expected:
            raise ModelLoadError(f"{folder / WEIGHTS_FILE}: weights do not match {META_FILE} (SHA-256 differs: "
                                 "an interrupted write, or files from two models); save the model again")
        stored = {k.removeprefix(prefix): v for k, v in load_file(str(folder / WEIGHTS_FILE)).items()
                  if k.startswith(prefix)}
        if rename:
            stored = {rename[1] + k.removeprefix(rename[0]) if k.startswith(rename[0]) else k: v
                      for k, v in stored.items()}
        state = {k: v for k, v in stored.items() if not (skip and k.startswith(skip))}
        partial = not model.stores_every_weight  # the rest came with the model (e.g. its frozen encoder)
        if skip or partial or prefix or rename:  # then the tensors that are loaded must be exactly the ones expected
            own = model.saved_state_dict() if partial else model.state_dict()
            expected_keys = {k for k in own if not (skip and k.startswith(skip))}
            if set(state) != expected_keys:
                raise KeyError(f"stored tensors {len(state)} != expected {len(expected_keys)}")
            if partial:
                model.check_saved_info(meta)
            model.load_state_dict(cast_like(state, model.state_dict()), strict=False)
        else:
            model.load_state_dict(cast_like(state, model.state_dict()))
    except DeepfakeDetectorError:
        raise
    except FileNotFoundError:
        raise ModelLoadError(f"{folder / WEIGHTS_FILE}: weights file missing") from None
    except SafetensorError as exc:
        raise ModelLoadError(f"{folder / WEIGHTS_FILE}: not a readable weights file ({first_line(exc)})") from None
    except (RuntimeError, KeyError, OSError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"{folder}: weights do not match the model ({first_line(exc)})") from None
