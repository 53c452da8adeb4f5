"""Where a model folder's files are, which models ship with the package, and reading ``model.json``.

Torch-free on purpose: the light ONNX predict path (``inference/onnx_predict.py``) needs only this.
"""

from __future__ import annotations

import json
from pathlib import Path

from deepfake_detector.errors import ModelLoadError, first_line
from deepfake_detector.models.meta import ModelMeta

WEIGHTS_FILE = "model.safetensors"
# The model `predict` uses when none is given (placed by the maintainers, with its MODEL_CARD.md).
ASSETS = Path(__file__).resolve().parents[1] / "assets"
DEFAULT_MODEL_DIR = ASSETS / "default-model"  # the CLIP detector (its encoder comes from the weights cache)
FAST_MODEL_DIR = ASSETS / "fast-model"  # MobileNetV2, self-contained: the fallback, and `--model fast`
BUNDLED = {"default": "DEFAULT_MODEL_DIR", "fast": "FAST_MODEL_DIR"}  # --model NAME -> folder
META_FILE = "model.json"


def read_meta(folder: str | Path) -> ModelMeta:
    """A model folder's ``model.json``, validated; a one-line ModelLoadError naming what is wrong."""
    folder = Path(folder)
    meta_path = folder / META_FILE
    if not folder.exists():
        raise ModelLoadError(f"{folder}: model not found")
    if not meta_path.is_file():
        raise ModelLoadError(f"{folder}: not a saved model (no {META_FILE}); pass a folder written by 'train'")
    try:
        data = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{meta_path}: corrupt model metadata ({first_line(exc)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict) or "name" not in data["model"]:
        raise ModelLoadError(f"{meta_path}: not model metadata (expected an object with model.name)")
    return ModelMeta.parse(data, where=str(meta_path)).at(str(folder))


def bundled_model_dir(name: str = "default") -> Path:
    """A model shipped in the package (``default`` or ``fast``); a one-line error when it is missing."""
    folder = globals()[BUNDLED[name]]
    if not (folder / META_FILE).is_file():
        raise ModelLoadError(f"no {name} model is installed ({folder}); pass --model RUN_FOLDER "
                             "(a folder written by 'train')")
    return folder


def bundled_name(folder: str | Path | None) -> str | None:
    """Which model shipped in the package (``default``, ``fast``) ``folder`` is; None for any other folder."""
    if folder is None:
        return None
    here = Path(folder).resolve()
    return next((name for name, var in BUNDLED.items() if globals()[var].resolve() == here), None)


def model_label(meta: ModelMeta) -> str:
    """A model's name for people: a bundled model's name (``default``), else its run's."""
    return bundled_name(meta.path) or meta.name


def outputs_home(meta: ModelMeta) -> Path:
    """Where a model's evaluations go unless told: its own folder, except for a model shipped in the package, whose
    folder may be read-only and is replaced by every upgrade: ``./<name>-model`` in the working directory."""
    name = bundled_name(meta.path)
    return Path(f"{name}-model") if name else Path(meta.path or ".")
