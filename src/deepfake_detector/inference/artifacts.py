"""A saved model is a folder: ``model.safetensors`` (weights) + ``model.json`` (how to rebuild and use it).

``model.json`` holds the registry name and arguments, the preprocessing, the decision threshold and
the label convention, so the folder alone is enough to predict; no code or config file is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from deepfake_detector.data.samples import LABEL_NAMES
from deepfake_detector.errors import DeepfakeDetectorError, ModelLoadError
from deepfake_detector.models import create_model
from deepfake_detector.utils.atomic import atomic_path, write_text

WEIGHTS_FILE = "model.safetensors"
# The model `predict` uses when none is given (placed by the maintainers, with its MODEL_CARD.md).
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "assets" / "default-model"
META_FILE = "model.json"
FORMAT_VERSION = 1


def save_model(model: nn.Module, folder: str | Path, *, name: str, args: dict, threshold: float,
               info: dict[str, Any] | None = None) -> Path:
    """Write weights and metadata atomically into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp))
    meta = {
        "format_version": FORMAT_VERSION,
        "model": {"name": name, "args": {k: v for k, v in args.items() if k != "pretrained"}},
        "preprocess": model.preprocess.to_dict(),
        "threshold": threshold,
        "labels": {str(k): v for k, v in LABEL_NAMES.items()},
        "score": "P(fake) = sigmoid(logit)",
        **(info or {}),
    }
    write_text(folder / META_FILE, json.dumps(meta, indent=2))
    return folder


def read_meta(folder: str | Path) -> dict:
    folder = Path(folder)
    meta_path = folder / META_FILE
    if not folder.exists():
        raise ModelLoadError(f"{folder}: model not found")
    if not meta_path.is_file():
        raise ModelLoadError(f"{folder}: not a saved model (no {META_FILE}); pass a folder written by 'train'")
    try:
        return json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{meta_path}: corrupt model metadata ({exc.msg})") from None


def default_model_dir() -> Path:
    """The bundled default model folder; a one-line error when this installation has none."""
    folder = DEFAULT_MODEL_DIR
    if not (folder / META_FILE).is_file():
        raise ModelLoadError(f"no default model is installed ({folder}); pass --model RUN_FOLDER "
                             "(a folder written by 'train')")
    return folder


def cast_like(state: dict[str, torch.Tensor], own: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cast stored floating tensors (e.g. fp16 weights) to the dtype of the model's own tensors."""
    return {k: v.to(own[k].dtype) if k in own and v.is_floating_point() and own[k].is_floating_point() else v
            for k, v in state.items()}


def load_model(folder: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the model by name and load its weights; returns ``(model in eval mode, meta)``."""
    folder = Path(folder)
    meta = read_meta(folder)
    try:
        model = create_model(meta["model"]["name"], **meta["model"].get("args", {}))
        state = load_file(str(folder / WEIGHTS_FILE))
        model.load_state_dict(cast_like(state, model.state_dict()))
    except DeepfakeDetectorError:
        raise
    except FileNotFoundError:
        raise ModelLoadError(f"{folder / WEIGHTS_FILE}: weights file missing") from None
    except (RuntimeError, KeyError, OSError) as exc:
        raise ModelLoadError(f"{folder}: weights do not match the model ({str(exc).splitlines()[0]})") from None
    return model.eval(), meta
