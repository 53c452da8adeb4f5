"""How far a reduced-precision engine moves each crop's logit, and what each recheck margin would cost and keep.

Usage: ``python scripts/recheck_margins.py LOW.json FP32.json [--model MODEL]``, where the two files are ``predict
FILES --output X.json`` of the same photos with the engine to judge (raw, e.g. before inference/recheck.py existed,
or with its margin set to 0) and with ``--backend onnx``. Every crop (each face and the whole photo) is compared;
the recheck is replayed on the scores for several margins: the share of crops scored again and the labels left
changed. Figures in docs/cpu-engines.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from deepfake_detector.inference.recheck import boundary_logits
from deepfake_detector.inference.verdict import VerdictRule
from deepfake_detector.models.bundled import BUNDLED, bundled_model_dir, read_meta

MARGINS = (0.25, 0.5, 0.75, 1.0)


def crop_logits(path: Path, temperature: float) -> dict[str, np.ndarray]:
    """Each photo's crop logits (its faces, then the whole photo when scored), from a predict JSON."""
    out = {}
    for row in json.loads(path.read_text())["predictions"]:
        p = [face["p_fake"] for face in row.get("faces") or []]
        p += [row["image_p_fake"]] if row.get("image_p_fake") is not None else []
        p = np.clip(np.array(p or [row["p_fake"]], dtype=np.float64), 1e-7, 1 - 1e-7)
        out[row["path"]] = temperature * np.log(p / (1 - p))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("low", type=Path)
    parser.add_argument("fp32", type=Path)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    meta = read_meta(bundled_model_dir(args.model) if args.model in BUNDLED else Path(args.model))
    band = meta.uncertain
    rule = VerdictRule.checked(meta.threshold, band and (band.low, band.high))
    temperature = meta.temperature or 1.0
    low, fp32 = crop_logits(args.low, temperature), crop_logits(args.fp32, temperature)
    pairs = [(low[k], fp32[k]) for k in fp32 if k in low and len(low[k]) == len(fp32[k])]
    fast, exact = (np.concatenate(x) for x in zip(*pairs, strict=True))
    # logits beyond ~±15 are rounded away in P(fake) of a JSON; the error is read where P still resolves it
    resolved = np.abs(exact) < 12
    error = np.abs(fast - exact)[resolved]
    print(f"{len(pairs)} photos, {len(exact)} crops; |dlogit| median {np.median(error):.2f}, 99th percentile "
          f"{np.percentile(error, 99):.2f}, max {error.max():.2f} (the {resolved.sum()} crops with |logit| < 12)")
    bounds = np.array(boundary_logits(rule, temperature))

    def sides(logits: np.ndarray) -> np.ndarray:
        return logits[:, None] >= bounds[None, :]

    labels = [{row["path"]: row["label"] for row in json.loads(f.read_text())["predictions"]}
              for f in (args.low, args.fp32)]
    moved = sum(labels[0].get(k) != v for k, v in labels[1].items())
    print(f"without a recheck: {moved} of {len(labels[1])} photo labels changed, "
          f"{(sides(fast) != sides(exact)).any(axis=1).sum()} crops on another side of a boundary")
    for margin in MARGINS:
        near = (np.abs(fast[:, None] - bounds[None, :]) < margin).any(axis=1)
        replayed = np.where(near, exact, fast)
        changed = (sides(replayed) != sides(exact)).any(axis=1).sum()
        print(f"margin {margin:.2f}: {near.mean():.1%} of crops scored again, {changed} crop labels changed")


if __name__ == "__main__":
    main()
