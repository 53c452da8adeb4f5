"""Map published weights onto our architectures, tensor by tensor, with nothing left over.

Every converter returns a state dict for the target module; :func:`load_exact` then checks that the
keys and shapes cover the module exactly (only BatchNorm's ``num_batches_tracked`` counters may be
absent) before loading, so a partial or mismatched conversion can never load silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from deepfake_detector.errors import ModelLoadError, first_line
from deepfake_detector.models.weights.keras import KerasLayer, read_keras_weights

StateDict = dict[str, torch.Tensor]


def load_exact(module: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``module``, refusing missing, unexpected or mis-shaped tensors."""
    target = {k: v for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(target) - set(state))
    extra = sorted(set(state) - set(target))
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in target.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    problems = [f"{len(missing)} missing (e.g. {missing[0]})" if missing else "",
                f"{len(extra)} unexpected (e.g. {extra[0]})" if extra else "",
                f"{len(wrong)} with other shapes (e.g. {wrong[0]})" if wrong else ""]
    problems = [p for p in problems if p]
    if problems:
        raise ModelLoadError(f"{source}: weights do not fit the model: {'; '.join(problems)}")
    module.load_state_dict(state, strict=False)


def read_state_dict(path: str | Path) -> StateDict:
    """A PyTorch (``.pth/.pt/.bin/.ckpt``) or safetensors state dict, unwrapped from common containers."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises many types on foreign files
        reason = first_line(exc, 120)
        raise ModelLoadError(f"{path}: not a readable state dict ({reason})") from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{path}: expected a mapping of tensor names to tensors")
    return state


def strip_prefix(state: StateDict,
                 prefixes: tuple[str, ...] = ("module.", "model.", "backbone.")) -> StateDict:
    """Drop a wrapper prefix (DataParallel's ``module.``, Lightning's ``model.``) shared by every key."""
    for prefix in prefixes:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


# ---- Keras Xception -> timm legacy_xception ------------------------------------------------------------

_RESIDUAL_BLOCKS = (1, 2, 3, 12)  # timm blocks whose skip path has a 1x1 conv + BN (Keras: unnamed layers)


def _xception_table() -> dict[str, tuple[str, str]]:
    """Keras layer name -> (timm module path, kind) for every named Xception layer."""
    table = {"block1_conv1": ("conv1", "conv"), "block1_conv1_bn": ("bn1", "bn"),
             "block1_conv2": ("conv2", "conv"), "block1_conv2_bn": ("bn2", "bn"),
             "block14_sepconv1": ("conv3", "sepconv"), "block14_sepconv1_bn": ("bn3", "bn"),
             "block14_sepconv2": ("conv4", "sepconv"), "block14_sepconv2_bn": ("bn4", "bn"),
             "predictions": ("fc", "dense")}
    for k in range(2, 14):  # Keras block k is timm block k-1
        reps = 3 if 5 <= k <= 12 else 2
        offset = 0 if k == 2 else 1  # timm's first block has no leading ReLU in its `rep`
        for j in range(1, reps + 1):
            i = 3 * (j - 1) + offset
            table[f"block{k}_sepconv{j}"] = (f"block{k - 1}.rep.{i}", "sepconv")
            table[f"block{k}_sepconv{j}_bn"] = (f"block{k - 1}.rep.{i + 1}", "bn")
    return table


def _t(a: np.ndarray, *perm: int) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(perm) if perm else a)).float()


def _convert_layer(prefix: str, kind: str, arrays: list[np.ndarray]) -> StateDict:
    if kind == "conv":  # (kh, kw, in, out) -> (out, in, kh, kw)
        return {f"{prefix}.weight": _t(arrays[0], 3, 2, 0, 1)}
    if kind == "sepconv":  # depthwise (kh, kw, in, 1) -> (in, 1, kh, kw); pointwise as a 1x1 conv
        return {f"{prefix}.conv1.weight": _t(arrays[0], 2, 3, 0, 1),
                f"{prefix}.pointwise.weight": _t(arrays[1], 3, 2, 0, 1)}
    if kind == "bn":  # gamma, beta, moving mean, moving variance
        return dict(zip([f"{prefix}.{n}" for n in ("weight", "bias", "running_mean", "running_var")],
                        [_t(a) for a in arrays], strict=True))
    if kind == "dense":
        return {f"{prefix}.weight": _t(arrays[0], 1, 0), f"{prefix}.bias": _t(arrays[1])}
    raise ModelLoadError(f"cannot convert a Keras '{kind}' layer ({prefix})")


def xception_state_from_keras(path: str | Path, include_top: bool = False) -> tuple[StateDict, list[str]]:
    """The timm ``legacy_xception`` state dict of the Xception inside a Keras file.

    Returns ``(state, ignored)``: ``ignored`` names layers of the file outside the Xception base (a head
    trained on top of it). Every tensor of the base is used; a base with missing or surplus layers fails.
    """
    weights = read_keras_weights(path)
    scope = weights.scope_of("block1_conv1")
    if scope is None:
        raise ModelLoadError(f"{path}: no Xception base in this Keras file (no layer 'block1_conv1')")
    table = _xception_table()
    base = [la for la in weights.layers if la.scope == scope]
    named = [la for la in base if la.name in table]
    # The residual 1x1 convs and BNs are the base's only unnamed layers (conv2d_N, batch_normalization_N).
    unnamed = re.compile(r"(conv2d|batch_normalization)(_\d+)?")
    residual = [la for la in base if la.name not in table and unnamed.fullmatch(la.name)]
    others = [la for la in weights.layers if la not in named and la not in residual]
    convs = [la for la in residual if la.kind == "conv"]
    bns = [la for la in residual if la.kind == "bn"]
    if len(convs) != len(_RESIDUAL_BLOCKS) or len(bns) != len(_RESIDUAL_BLOCKS):
        raise ModelLoadError(f"{path}: expected 4 residual conv+BN pairs in the Xception base, found "
                             f"{len(convs)} convs and {len(bns)} BNs")
    state: StateDict = {}
    layers: list[tuple[str, KerasLayer]] = [(table[la.name][0], la) for la in named]
    layers += [(f"block{b}.skip", c) for b, c in zip(_RESIDUAL_BLOCKS, convs, strict=True)]
    layers += [(f"block{b}.skipbn", n) for b, n in zip(_RESIDUAL_BLOCKS, bns, strict=True)]
    for prefix, la in layers:
        if prefix == "fc" and not include_top:
            others.append(la)
            continue
        expected = table.get(la.name, (prefix, la.kind))[1]
        if la.kind != expected:
            raise ModelLoadError(f"{path}: layer '{la.name}' is a {la.kind}, expected a {expected}")
        state.update(_convert_layer(prefix, la.kind, la.arrays))
    return state, [la.name for la in others]


# ---- EfficientNet (lukemelas / EfficientNet-PyTorch layout) -> timm efficientnet -------------------------


def efficientnet_state_from_lukemelas(state: StateDict, stage_depths: tuple[int, ...]) -> StateDict:
    """Rename ``_blocks.N._expand_conv`` style keys to timm's ``blocks.S.I.conv_pw`` layout.

    ``stage_depths`` gives the number of blocks per stage (timm nests blocks by stage; the source is flat).
    The first block of a model has no expansion conv (timm's DepthwiseSeparable block).
    """
    position = [(s, i) for s, depth in enumerate(stage_depths) for i in range(depth)]
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
           "_fc": "classifier"}
    expand = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
              "_project_conv": "conv_pwl", "_bn2": "bn3"}
    separable = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    out: StateDict = {}
    for key, value in state.items():
        m = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
        if m:
            n = int(m.group(1))
            if n >= len(position):
                raise ModelLoadError(f"block {n} is beyond the {len(position)} blocks of the target model")
            has_expand = f"_blocks.{n}._expand_conv.weight" in state
            names = expand if has_expand else separable
            if m.group(2) not in names:
                raise ModelLoadError(f"unknown EfficientNet tensor '{key}'")
            s, i = position[n]
            out[f"blocks.{s}.{i}.{names[m.group(2)]}.{m.group(3)}"] = value
            continue
        head, _, leaf = key.partition(".")
        if head not in top:
            raise ModelLoadError(f"unknown EfficientNet tensor '{key}'")
        out[f"{top[head]}.{leaf}"] = value
    return out
