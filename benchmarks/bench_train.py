"""Training throughput: one optimiser step (forward + backward + Adam) per call, random weights.

Channels-last weights and batches, as ``training/module.py`` trains (the default layout makes the
depthwise convolutions of EfficientNet/MobileNet ~40x slower to train on CPU).
"""

from __future__ import annotations

import torch
from common import Row, Settings, image_files, load_batch, median_rate

from deepfake_detector.models import create_model

# (model, batch size, quick?) at each model's own input size; seed_cnn at the recipe's 128 px.
MODELS = [("seed_cnn", 32, True), ("efficientnet_lite0", 32, True), ("xception", 16, False)]
FINETUNE_IMAGES = 967  # the 140k sample's training split


def make_model(name: str) -> torch.nn.Module:
    """A randomly initialised (seeded) model at its benchmark input size."""
    torch.manual_seed(0)
    return create_model(name, pretrained=False, **({"input_size": 128} if name == "seed_cnn" else {}))


def train_rate(model: torch.nn.Module, batch_size: int, settings: Settings, bf16: bool = False) -> float:
    model.train().to(memory_format=torch.channels_last)
    batch = load_batch(image_files("train", batch_size), model.preprocess).contiguous(memory_format=torch.channels_last)
    labels = (torch.arange(batch_size) % 2).float()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(batch).float()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return median_rate(step, batch_size, settings.repeats)


def run(settings: Settings, names: list[str] | None = None) -> list[Row]:
    rows = []
    for name, batch_size, in_quick in MODELS:
        if names is not None and name not in names:
            continue
        if settings.quick and not in_quick:
            rows.append(Row("train", f"{name} train step", None, "skipped in quick mode"))
            continue
        model = make_model(name)
        h = model.preprocess.input_size[0]
        rate = train_rate(model, batch_size, settings)
        note = f"{h}px, batch {batch_size}"
        if name == "efficientnet_lite0":
            note += f"; full fine-tune epoch of {FINETUNE_IMAGES} images ~ {FINETUNE_IMAGES / rate:.0f} s"
        rows.append(Row("train", f"{name} train step", rate, note))
        if name == "seed_cnn" and torch.ops.mkldnn._is_mkldnn_bf16_supported():
            rows.append(Row("train", f"{name} train step, bf16 autocast", train_rate(model, batch_size, settings, True),
                            f"{note} (train.precision=bf16-mixed)"))
    return rows
