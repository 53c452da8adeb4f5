"""Save one member of a combined model (``combine``; the bundled default is one) as a model folder of its own,
so it can be evaluated alone (e.g. the default model's blend detector against a retrained one), or combined
again with another member (e.g. the default's CLIP detector with a retrained blend detector).

    python scripts/extract_member.py default 1 runs/bundled-blend-member [--framing faces]
    python scripts/extract_member.py default 0 runs/clip-member --framing faces+image \
        --splits configs/clip-detector.yaml

The member's weights, its registry name and args, its own temperature and threshold; ``--framing`` as its
training run had it (a blend detector trained by configs/blend-detector.yaml: faces). The first member also
keeps the combined model's threshold policy and training record (``combine`` took them from it).
``--splits CONFIG`` writes the split lists of the member's training run (``splits.csv``), made again from its
recipe exactly as training made them (seeded), so ``combine``, ``calibrate`` and ``evaluate`` treat the folder as
that run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepfake_detector.config import load_config
from deepfake_detector.data.sources import make_source_splits
from deepfake_detector.data.splits import SPLITS_FILE, write_splits
from deepfake_detector.inference import Detector
from deepfake_detector.models.artifacts import save_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="combined model folder, or 'default'")
    parser.add_argument("member", type=int, help="0 for the first member, 1 for the second...")
    parser.add_argument("out", help="new model folder")
    parser.add_argument("--framing", default="faces", choices=["faces", "faces+image"])
    parser.add_argument("--splits", metavar="CONFIG", help="the member's training recipe: write its split lists")
    args = parser.parse_args()
    detector = Detector.load(None if args.model == "default" else args.model, device="cpu", backend="torch")
    meta = detector.meta
    spec = meta.model.args["members"][args.member]
    info = {"framing": args.framing, "run_name": spec.get("label") or f"member-{args.member}",
            "temperature": spec.get("temperature")}
    if args.member == 0:
        info |= {"threshold_policy": meta.threshold_policy,
                 "training": meta.training.model_dump() if meta.training else None}
    save_model(detector.model.members[args.member], args.out, name=spec["name"], args=spec["args"],
               threshold=spec["threshold"], info=info)
    if args.splits:
        cfg = load_config(args.splits)
        splits, _ = make_source_splits(cfg.data.sources, cfg.data.val_fraction, cfg.train.seed, cfg.data.limit)
        write_splits(Path(args.out) / SPLITS_FILE, splits)
    print(f"{args.out}: member {args.member} ({spec.get('label', spec['name'])}), threshold {spec['threshold']:.4f}")


if __name__ == "__main__":
    main()
