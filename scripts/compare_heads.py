"""The linear heads of saved model folders: each weight vector's norm and its cosine to the first folder's first head.

    python scripts/compare_heads.py runs/clip-detector runs/clip-max2-seamless runs/clip-max2s-warm-o1

What told apart a two-head model's generated head started from scratch and one started from the default's
(docs/face-swaps.md): a head's weights decide its scale, and one temperature serves both heads of a max2 model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors.torch import load_file

from deepfake_detector.models.artifacts import WEIGHTS_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="model folders (a combined one: its members' heads)")
    args = parser.parse_args(argv)
    reference = None
    for folder in args.models:
        state = load_file(str(folder / WEIGHTS_FILE))
        for name, weight in state.items():
            if not (name.endswith(".weight") and "head" in name and weight.shape[0] == 1):
                continue  # linear heads only: one output
            vector = weight.float().flatten()
            reference = vector if reference is None else reference
            cosine = (f"{float(torch.nn.functional.cosine_similarity(vector, reference, dim=0)):.3f}"
                      if vector.shape == reference.shape else "- (another size of features)")
            print(f"{folder}  {name}: norm {float(vector.norm()):.2f}, cosine to the first {cosine}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
