"""Where the default model's bf16 error comes from: its CLIP detector scored on the 140k test split (whole photos)
in fp32, then with bf16 (PyTorch CPU autocast) everywhere but one range of the encoder kept in fp32, and the
change in P(fake) against fp32 for each. Tells which layers an engine should keep in fp32 (docs/cpu-engines.md).

    python scripts/bf16_error_by_block.py [--data ../shared/data/140k]

PyTorch's bf16 autocast is a stand-in for OpenVINO's bf16 inference precision: both round matrix products'
inputs to bf16; the figures say where the error starts, not what a given engine gives.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.functional import to_tensor

from deepfake_detector.data.discovery import discover
from deepfake_detector.models.artifacts import load_model
from deepfake_detector.models.bundled import bundled_model_dir

# (label, blocks computed in fp32: patch embedding = block 0, encoder blocks 1-12)
LAYOUTS = [("bf16 everywhere", set()),
           ("fp32 blocks 11-12", {11, 12}),
           ("fp32 blocks 7-12", set(range(7, 13))),
           ("fp32 patch embedding + block 1", {0, 1}),
           ("fp32 patch embedding + blocks 1-2", {0, 1, 2})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "../shared/data/140k"))
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


if __name__ == "__main__":
    main()
