"""Where the default model's bf16 error comes from: its CLIP detector scored on the 140k test split (whole photos)
in fp32, then with bf16 (PyTorch CPU autocast) everywhere but one range of the encoder kept in fp32, and the
change in P(fake) against fp32 for each. Tells which layers an engine should keep in fp32 (docs/cpu-engines.md).

    python scripts/bf16_error_by_block.py [--data ../shared/data/140k] [--openvino | --members]

PyTorch's bf16 autocast is a stand-in for OpenVINO's bf16 inference precision: both round matrix products'
inputs to bf16; the figures say where the error starts, not what a given engine gives. ``--openvino`` then measures
the engine itself on the whole default model's ONNX export: OpenVINO bf16, and the same graph split in two compiled
models, the input end (patch embedding and the first blocks) at fp32 and the rest at bf16, with the labels each
changes against OpenVINO fp32 at the model's threshold and uncertain band; and each member compiled alone in
bf16 while the other stays fp32 (which member moves the labels).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.functional import to_tensor

from deepfake_detector.data.discovery import discover
from deepfake_detector.inference.onnx_backend import cached_onnx_path
from deepfake_detector.inference.openvino_backend import convert
from deepfake_detector.inference.scorer import sigmoid_scores
from deepfake_detector.inference.verdict import VerdictRule
from deepfake_detector.models.artifacts import load_model
from deepfake_detector.models.bundled import bundled_model_dir
from deepfake_detector.models.meta import ModelMeta

# (label, blocks computed in fp32: patch embedding = block 0, encoder blocks 1-12)
LAYOUTS = [("bf16 everywhere", set()),
           ("fp32 blocks 11-12", {11, 12}),
           ("fp32 blocks 7-12", set(range(7, 13))),
           ("fp32 patch embedding + block 1", {0, 1}),
           ("fp32 patch embedding + blocks 1-2", {0, 1, 2})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "../shared/data/140k"))
    parser.add_argument("--openvino", action="store_true", help="also measure OpenVINO bf16 and split graphs "
                        "(on the default model's ONNX export, which any predict --backend onnx makes)")
    parser.add_argument("--members", action="store_true", help="only the table of each member in bf16 alone")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model, meta = load_model(bundled_model_dir())
    clip = model.members[0].eval()
    spec = meta.model.args["members"][0]
    vit, pre = clip.backbone.vit, clip.preprocess
    mean, std = torch.tensor(pre.mean).view(3, 1, 1), torch.tensor(pre.std).view(3, 1, 1)
    paths = [s.path for s in discover(args.data).splits["test"]]
    images = torch.stack([(to_tensor(Image.open(p).convert("RGB").resize(pre.input_size[::-1], Image.BICUBIC))
                           - mean) / std for p in paths])
    if args.members:
        openvino_member_table(images * std + mean, model, meta)
        return

    @torch.no_grad()
    def p_fake(fp32: set[int] | None) -> np.ndarray:  # None: all in fp32
        out = []
        for x in images.split(32):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fp32 is not None and 0 not in fp32):
                h = vit.norm_pre(vit._pos_embed(vit.patch_embed(x)))
            tokens = []
            for number, block in enumerate(vit.blocks, start=1):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fp32 is not None and number not in fp32):
                    h = block(h).float()
                if number in clip.backbone.blocks:
                    tokens.append(torch.nn.functional.layer_norm(h[:, 0], (h.shape[-1],)))
            out.append(clip.head(torch.cat(tokens, 1)).squeeze(1))
        return torch.sigmoid(torch.cat(out) / spec["temperature"]).numpy()

    reference = p_fake(None)
    print(f"{len(paths)} test photos of {args.data}; |change in P(fake)| against fp32")
    print("| kept in fp32 | median | p99 | max |\n|---|---:|---:|---:|")
    for label, fp32 in LAYOUTS:
        change = np.abs(p_fake(fp32) - reference)
        print(f"| {label} | {np.median(change):.1e} | {np.quantile(change, 0.99):.3f} | {change.max():.3f} |")
    if args.openvino:
        # the ONNX graph normalises its input itself
        openvino_split_table(images * std + mean, meta)
        openvino_member_table(images * std + mean, model, meta)


def openvino_split_table(images: torch.Tensor, meta: ModelMeta) -> None:
    """The whole default model through OpenVINO: bf16, and fp32 up to the end of block N then bf16."""
    import openvino as ov

    export = cached_onnx_path(bundled_model_dir())
    if not export.is_file():
        raise SystemExit(f"{export}: no ONNX export of the default model yet; run any predict --backend onnx first")
    core, ir = ov.Core(), str(convert(export, "fp32"))
    band = meta.uncertain
    rule = VerdictRule.checked(meta.threshold, band and (band.low, band.high))
    batches = [b.numpy() for b in images.split(16)]

    def compiled(model, precision: str):
        return core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": precision})

    def p_fake(score) -> np.ndarray:
        logits = np.concatenate([np.asarray(score(b)).reshape(-1) for b in batches])
        return sigmoid_scores(logits, meta.temperature or 1.0)

    def split_at(last_block: int):
        """fp32 model: image -> tokens after encoder block ``last_block`` (timm numbering from 0); bf16 model:
        image and those tokens -> logit (the image still feeds the other member)."""
        first, second = core.read_model(ir), core.read_model(ir)
        cut = f"/members.0/backbone/blocks.{last_block}/"
        end = [op for op in first.get_ordered_ops() if op.get_friendly_name().startswith(cut)][-1]
        head = compiled(ov.Model([end.output(0)], first.get_parameters()), "f32")
        end = next(op for op in second.get_ordered_ops() if op.get_friendly_name() == end.get_friendly_name())
        tokens = ov.opset13.parameter(end.output(0).get_partial_shape(), ov.Type.f32, name="tokens")
        for consumer in list(end.output(0).get_target_inputs()):
            consumer.replace_source_output(tokens.output(0))
        tail = compiled(ov.Model(second.get_results(), [*second.get_parameters(), tokens]), "bf16")
        return lambda batch: tail({"image": batch, "tokens": head(batch)[0]})[0]

    fp32, bf16 = compiled(ir, "f32"), compiled(ir, "bf16")
    reference = p_fake(lambda b: fp32(b)[0])
    print(f"\nOpenVINO on the whole default model; against OpenVINO fp32, {rule.describe()}")
    print("| kept in fp32 | median \\|ΔP\\| | p99 | max | labels changed |\n|---|---:|---:|---:|---:|")
    for label, score in [("nothing (bf16 everywhere)", lambda b: bf16(b)[0]),
                         ("patch embedding + block 1", split_at(0)),
                         ("patch embedding + blocks 1-2", split_at(1))]:
        got = p_fake(score)
        change = np.abs(got - reference)
        changed = sum(rule.label(float(a)) != rule.label(float(b)) for a, b in zip(got, reference, strict=True))
        print(f"| {label} | {np.median(change):.1e} | {np.quantile(change, 0.99):.3f} | {change.max():.3f} | "
              f"{changed} of {len(got)} |")


def openvino_member_table(images: torch.Tensor, model: torch.nn.Module, meta: ModelMeta) -> None:
    """Each member of the default model compiled on its own, in fp32 and bf16: the labels each member's bf16 moves
    when the other stays fp32 (is one member the source of the changes?)."""
    import openvino as ov

    core = ov.Core()
    band = meta.uncertain
    rule = VerdictRule.checked(meta.threshold, band and (band.low, band.high))
    raw = {}
    for index, normalise in enumerate(model.normalise):
        member = torch.nn.Sequential(normalise, model.members[index]).eval()
        with torch.no_grad():
            converted = ov.convert_model(member, example_input=images[:2])
        for precision in ("f32", "bf16"):
            compiled = core.compile_model(converted, "CPU", {"INFERENCE_PRECISION_HINT": precision})
            raw[index, precision] = torch.from_numpy(np.concatenate(
                [np.asarray(compiled(b.numpy())[0]).reshape(-1) for b in images.split(16)]))

    def p_fake(precisions: tuple[str, ...]) -> np.ndarray:
        logits = model.on_common_scale(torch.stack([raw[i, p] for i, p in enumerate(precisions)], dim=1))
        return sigmoid_scores(logits.amax(dim=1).numpy(), meta.temperature or 1.0)

    reference = p_fake(("f32",) * len(model.members))
    print(f"\nOpenVINO, each member compiled alone; against both in fp32, {rule.describe()}")
    print("| in bf16 | median \\|ΔP\\| | max | labels changed |\n|---|---:|---:|---:|")
    for index, label in enumerate([*(f"member {i + 1} alone" for i in range(len(model.members))), "every member"]):
        precisions = tuple("bf16" if index in (i, len(model.members)) else "f32" for i in range(len(model.members)))
        got = p_fake(precisions)
        change = np.abs(got - reference)
        changed = sum(rule.label(float(a)) != rule.label(float(b)) for a, b in zip(got, reference, strict=True))
        print(f"| {label} | {np.median(change):.1e} | {change.max():.3f} | {changed} of {len(got)} |")


if __name__ == "__main__":
    main()
