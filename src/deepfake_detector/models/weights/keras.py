"""Read the weights of a Keras model file, layer by layer, in the order Keras built them.

Two layouts are understood:

* Keras 3 ``.keras`` archives (``config.json`` + ``model.weights.h5``). The HDF5 file names each layer
  by its class (``batch_normalization_7``), so the layer names come from walking ``config.json`` the
  way Keras' saving code does (one counter per class name, nested models recursed).
* Legacy HDF5 (``.h5``: ``model.save`` / ``save_weights`` of Keras 2, e.g. the published
  ``xception_weights_tf_dim_ordering_tf_kernels_notop.h5``): groups named after layers, each with a
  ``weight_names`` attribute (``block1_conv1/kernel:0``).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepfake_detector.errors import ModelLoadError, first_line

# Keras class name -> our kind; the order of arrays is the order Keras creates a layer's variables.
_KINDS = {"Conv2D": "conv", "SeparableConv2D": "sepconv", "BatchNormalization": "bn", "Dense": "dense",
          "DepthwiseConv2D": "dwconv"}
_CONTAINERS = {"Functional", "Sequential", "Model"}


@dataclass
class KerasLayer:
    name: str  # the layer's own name (block1_conv1, conv2d_3, predictions)
    kind: str  # conv, sepconv, dwconv, bn, dense or other
    arrays: list[np.ndarray]
    scope: str = ""  # name of the (nested) model holding it; "" for the top level


@dataclass
class KerasWeights:
    source: str
    layers: list[KerasLayer] = field(default_factory=list)

    def scope_of(self, layer_name: str) -> str | None:
        return next((la.scope for la in self.layers if la.name == layer_name), None)


def _snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _walk_keras3(config: dict, group, scope: str, out: list[KerasLayer]) -> None:
    used: dict[str, int] = {}
    for layer in config["config"]["layers"]:
        cls = layer["class_name"]
        auto = _snake_case(cls)
        used[auto] = used.get(auto, -1) + 1
        key = auto if used[auto] == 0 else f"{auto}_{used[auto]}"
        sub = group.get(f"layers/{key}") if group is not None else None
        name = layer["config"].get("name", key)
        if cls in _CONTAINERS or "layers" in layer.get("config", {}):
            _walk_keras3(layer, sub, name, out)
        elif sub is not None and "vars" in sub and len(sub["vars"]):
            arrays = [np.asarray(sub["vars"][str(i)]) for i in range(len(sub["vars"]))]
            out.append(KerasLayer(name, _KINDS.get(cls, "other"), arrays, scope))


def _kind_from_names(names: list[str]) -> str:
    short = {n.rsplit("/", 1)[-1].split(":")[0] for n in names}
    if "depthwise_kernel" in short and "pointwise_kernel" in short:
        return "sepconv"
    if "depthwise_kernel" in short:
        return "dwconv"
    if {"gamma", "beta", "moving_mean", "moving_variance"} & short:
        return "bn"
    return "conv" if "kernel" in short else "other"  # conv or dense: told apart by the kernel's rank


def _read_legacy_h5(f, out: list[KerasLayer]) -> None:
    root = f.get("model_weights", f)
    for outer in [_decode(n) for n in root.attrs["layer_names"]]:
        group = root[outer]
        names = [_decode(n) for n in group.attrs.get("weight_names", [])]
        by_layer: dict[str, list[str]] = {}
        for n in names:  # "block1_conv1/kernel:0" or, nested, "xception/block1_conv1/kernel:0"
            by_layer.setdefault(n.rsplit("/", 1)[0].rsplit("/", 1)[-1], []).append(n)
        nested = len(by_layer) > 1 or (by_layer and next(iter(by_layer)) != outer)
        for layer, vnames in by_layer.items():
            arrays = [np.asarray(group[n]) for n in vnames]
            kind = _kind_from_names(vnames)
            if kind == "conv" and arrays[0].ndim == 2:
                kind = "dense"
            out.append(KerasLayer(layer, kind, arrays, outer if nested else ""))


def _decode(name: bytes | str) -> str:
    return name.decode() if isinstance(name, bytes) else str(name)


def read_keras_weights(path: str | Path) -> KerasWeights:
    """All weighted layers of a ``.keras`` archive or a legacy ``.h5`` file, in build order."""
    import h5py

    path = Path(path)
    result = KerasWeights(str(path))
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
                blob = io.BytesIO(archive.read("model.weights.h5"))
            with h5py.File(blob, "r") as f:
                _walk_keras3(config, f, "", result.layers)
        else:
            with h5py.File(path, "r") as f:
                if "layer_names" not in f.attrs and "model_weights" not in f:
                    raise ModelLoadError(f"{path}: a Keras 3 weights-only file has no layer names; "
                                         "pass the .keras model file (or a legacy Keras .h5) instead")
                _read_legacy_h5(f, result.layers)
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        reason = first_line(exc)
        raise ModelLoadError(f"{path}: not a readable Keras model file ({reason})") from None
    return result
