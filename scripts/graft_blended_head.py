"""Add a two-head model's blended-face head to a one-head model, leaving the one-head model's scores unchanged.

    python scripts/graft_blended_head.py runs/clip-detector runs/clip-two-head runs/clip-grafted
    deepfake-detector combine runs/clip-grafted runs/blend-seamless --offset 0.5 --out runs/default-grafted
    deepfake-detector calibrate runs/default-grafted --uncertain 0.99 --temperature

Both models must share their encoder (the two-head one trained with ``init: default`` from the first, so only
their heads differ). The new model's generated-faces head is the first model's head and its blended-face head
the second's, each put on the scale its own model was calibrated on: with ``T``, ``t`` the first model's
temperature and threshold logit and ``T2``, ``t2``, ``o2`` the second's temperature, threshold logit and
blended offset, the new model has temperature ``T2`` and threshold ``t`` with ``generated_scale = T2 / T`` and
``blended_offset = o2 + T2 (t2 - t)``. Then ``logit / T2 - t`` is the first model's ``g / T - t`` wherever the
generated head decides and the second's ``(b - o2) / T2 - t2`` wherever the blended head does, so every photo
the blended head does not claim keeps the first model's score, and its rank among such photos
(docs/face-swaps.md: retraining the generated head beside the blended one moved the 140k ranking).
The first run's split lists (``splits.csv``) are copied, so ``calibrate`` and ``evaluate`` treat the folder as
that run.
"""

from __future__ import annotations

import argparse
import math
import shutil
from pathlib import Path

import torch

from deepfake_detector.data.splits import SPLITS_FILE
from deepfake_detector.inference import Detector
from deepfake_detector.models.artifacts import META_FILE, save_model
from deepfake_detector.models.registry import create_model
from deepfake_detector.models.transfer import MaxOfHeads


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _encoder_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generated", help="a model folder with one linear head (its scores are kept)")
    parser.add_argument("two_head", help="a model folder whose head is max2, on the same encoder")
    parser.add_argument("out", type=Path, help="new model folder")
    parser.add_argument("--overwrite", action="store_true", help="replace the model files of an existing OUT")
    args = parser.parse_args(argv)
    if (args.out / META_FILE).exists() and not args.overwrite:
        raise SystemExit(f"{args.out} already holds a model; give --overwrite to replace it")
    first = Detector.load(args.generated, device="cpu", backend="torch")
    second = Detector.load(args.two_head, device="cpu", backend="torch")
    if not isinstance(second.model.head, MaxOfHeads):
        raise SystemExit(f"{args.two_head}: its head is not max2 (two heads); it has no blended head to add")
    if isinstance(first.model.head, MaxOfHeads) or first.meta.model.args.get("head", "linear") != "linear":
        raise SystemExit(f"{args.generated}: give a model with one linear head")
    ours, theirs = _encoder_state(first.model), _encoder_state(second.model)
    if ours.keys() != theirs.keys() or any(not torch.equal(ours[k].float(), theirs[k].float()) for k in ours):
        raise SystemExit(f"{args.generated} and {args.two_head} do not share their encoder; train the two-head "
                         "model with init: default from the first")
    temperature, threshold = first.meta.temperature or 1.0, first.meta.threshold
    temperature2, threshold2 = second.meta.temperature or 1.0, second.meta.threshold
    blended = second.model.head
    model_args = {**first.meta.model.args, "head": "max2", "generated_scale": temperature2 / temperature,
                  "blended_offset": blended.blended_offset + temperature2 * (_logit(threshold2) - _logit(threshold))}
    model = create_model(first.meta.model.name, **model_args)
    model.load_state_dict(first.model.state_dict(), strict=False)  # the encoder, and nothing of the old head
    model.head.generated.load_state_dict(first.model.head.state_dict())
    model.head.blended.load_state_dict(blended.blended.state_dict())
    meta = first.meta
    info = {"framing": meta.framing, "run_name": args.out.name, "threshold_policy": meta.threshold_policy,
            "temperature": temperature2, "training": meta.training.model_dump() if meta.training else None}
    save_model(model.eval(), args.out, name=meta.model.name, args=model_args, threshold=threshold, info=info)
    shutil.copyfile(Path(args.generated) / SPLITS_FILE, args.out / SPLITS_FILE)
    print(f"{args.out}: {args.generated}'s head with {args.two_head}'s blended head (generated_scale "
          f"{model_args['generated_scale']:.4f}, blended_offset {model_args['blended_offset']:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
