"""Lower the blended-face head of a two-head model (``model.args.head=max2``) by an offset, as a new model folder.

    python scripts/shift_blended_head.py runs/clip-max2 2 runs/clip-max2-offset2
    deepfake-detector calibrate runs/clip-max2-offset2 --uncertain 0.99 --temperature

The two heads' logits are maximised as they are, so a blended head that fires on some real photos raises the
threshold for both and costs generator recall. Lowering it by ``offset`` (added to the model's
``blended_offset``, as ``model.args.blended_offset`` does at training) puts it at a stricter operating point of
its own (what ``combine --offset`` does for a second model), without training again; the offset is then chosen
on validation with ``calibrate`` (temperature, threshold and band are fitted again there; docs/face-swaps.md).
The run's split lists (``splits.csv``) are copied, so ``calibrate`` and ``evaluate`` treat the folder as that run.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from deepfake_detector.data.splits import SPLITS_FILE
from deepfake_detector.inference import Detector
from deepfake_detector.models.artifacts import save_model
from deepfake_detector.models.transfer import MaxOfHeads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model folder whose head is max2")
    parser.add_argument("offset", type=float, help="logit units subtracted from the blended head")
    parser.add_argument("out", help="new model folder")
    args = parser.parse_args()
    detector = Detector.load(args.model, device="cpu", backend="torch")
    head = getattr(detector.model, "head", None)
    if not isinstance(head, MaxOfHeads):
        raise SystemExit(f"{args.model}: its head is not max2 (two heads); nothing to shift")
    head.blended_offset += args.offset
    meta = detector.meta
    info = {"framing": meta.framing, "run_name": f"{meta.run_name}-blended-offset{args.offset:g}",
            "threshold_policy": meta.threshold_policy, "temperature": meta.temperature,
            "training": meta.training.model_dump() if meta.training else None}
    save_model(detector.model, args.out, name=meta.model.name,
               args={**meta.model.args, "blended_offset": head.blended_offset}, threshold=meta.threshold, info=info)
    shutil.copyfile(Path(args.model) / SPLITS_FILE, Path(args.out) / SPLITS_FILE)
    print(f"{args.out}: blended head lowered by {args.offset:g}; now choose its operating point with calibrate")


if __name__ == "__main__":
    main()
