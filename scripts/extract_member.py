"""Save one member of a combined model (``combine``; the bundled default is one) as a model folder of its own,
so it can be evaluated alone: e.g. the default model's blend detector against a retrained one.

    python scripts/extract_member.py default 1 runs/bundled-blend-member [--framing faces]

The member's weights, its registry name and args, and its own threshold; ``--framing`` as its training run had it
(a blend detector trained by configs/blend-detector.yaml: faces).
"""

from __future__ import annotations

import argparse

from deepfake_detector.inference import Detector
from deepfake_detector.models.artifacts import save_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="combined model folder, or 'default'")
    parser.add_argument("member", type=int, help="0 for the first member, 1 for the second...")
    parser.add_argument("out", help="new model folder")
    parser.add_argument("--framing", default="faces", choices=["faces", "faces+image"])
    args = parser.parse_args()
    detector = Detector.load(None if args.model == "default" else args.model, device="cpu", backend="torch")
    spec = detector.meta.model.args["members"][args.member]
    save_model(detector.model.members[args.member], args.out, name=spec["name"], args=spec["args"],
               threshold=spec["threshold"], info={"framing": args.framing, "run_name": f"member-{args.member}"})
    print(f"{args.out}: member {args.member} ({spec.get('label', spec['name'])}), threshold {spec['threshold']:.4f}")


if __name__ == "__main__":
    main()
