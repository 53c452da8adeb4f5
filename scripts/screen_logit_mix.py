"""Screen a weighted mean of two models' logits against the default's policy, processed real photos included.

    deepfake-detector evaluate fast --data runs/fixed-1.5/splits.csv --split valid --out /work/exp/fast-valid
    python scripts/screen_logit_mix.py processed default /work/exp/proc-default.csv   # valid reals, processed
    python scripts/screen_logit_mix.py processed fast /work/exp/proc-fast.csv
    python scripts/screen_logit_mix.py mix --valid runs/default-heldproc/eval-valid/predictions.csv \\
        /work/exp/fast-valid/predictions.csv --processed /work/exp/proc-default.csv /work/exp/proc-fast.csv \\
        --test runs/default-heldproc/eval-test/predictions.csv runs/fast-all/eval-test-held/predictions.csv

A photo's mixed logit is ``(1 - w) * logit(P first) + w * logit(P second)`` (each model's calibrated P(fake), as
``evaluate`` writes it). For each ``w``: the threshold of the default's policy (``fpr:0.02@worst-source``) on the
validation photos as they are, the validation fakes caught per generator, the worst real source's share flagged
after JPEG 50 / half size / blur 1; then the same with those processed reals held to the policy too
(``calibrate --processed-reals``); and both thresholds applied to the test photos. ``w`` is for reading, not for
choosing on test. Sources come from ``--splits``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from estimate_max_of_models import logit, paired, rows_of
from screen_heads_processed import policy_threshold

STEPS = ["jpeg:50", "resize:0.5", "blur:1"]
SPLITS = "runs/fixed-1.5/splits.csv"


def score_processed(model: str, out: Path, splits: str) -> None:
    """The validation reals after each step in STEPS, scored as ``predict`` scores them: path, step, p_fake."""
    from deepfake_detector import Detector
    from deepfake_detector.data.perturb import parse_perturbations
    from deepfake_detector.data.splits import read_splits
    from deepfake_detector.evaluation.scoring import score_samples

    detector = Detector.load(model)
    reals = [s for s in read_splits(splits)["valid"] if s.label == 0]
    rows = []
    for step in parse_perturbations(STEPS):
        scored = score_samples(detector, reals, perturb=step)
        rows += [(str(s.path), step.name, p) for s, p in zip(scored.samples, scored.p_fake, strict=True)]
    with out.open("w", newline="") as f:
        csv.writer(f).writerows([("path", "step", "p_fake"), *rows])


def _pairs(first: str, second: str, sources: dict[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(logit first, logit second, label, source) of the photos both evaluate CSVs scored."""
    p_first, p_second, fake, source = paired(first, second, sources)
    return logit(p_first), logit(p_second), fake.astype(int), source


def _processed(first: str, second: str, sources: dict[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(logit first, logit second, "source+step") of the processed reals both models scored."""
    a, b = ({(r["path"], r["step"]): float(r["p_fake"]) for r in rows_of(f)} for f in (first, second))
    keys = sorted(set(a) & set(b))
    return (logit(np.array([a[k] for k in keys])), logit(np.array([b[k] for k in keys])),
            np.array([f"{sources[k[0]]}+{k[1]}" for k in keys]))


def _rates(score: np.ndarray, label: np.ndarray, source: np.ndarray, t: float) -> str:
    caught = " ".join(f"{s} {(score[(label == 1) & (source == s)] >= t).mean():.3f}"
                      for s in sorted(set(source[label == 1])))
    flagged = max((score[(label == 0) & (source == s)] >= t).mean() for s in set(source[label == 0]))
    return f"caught {caught}; worst real source flagged {flagged:.3f}"


def mix(args: argparse.Namespace) -> None:
    sources = {r["path"]: r["source"] for r in rows_of(args.splits)}
    valid, test = _pairs(*args.valid, sources), _pairs(*args.test, sources)
    processed = _processed(*args.processed, sources)
    for w in args.weights:
        score = (1 - w) * valid[0] + w * valid[1]
        processed_score = (1 - w) * processed[0] + w * processed[1]
        held = {step: (processed_score[np.char.endswith(processed[2], "+" + step)],
                       np.array([g.split("+")[0] for g in processed[2] if g.endswith("+" + step)])) for step in STEPS}
        for name, t in (("clean reals", policy_threshold(valid[2], score, valid[3])),
                        ("processed reals too", policy_threshold(valid[2], score, valid[3], held))):
            worst_processed = max((processed_score[processed[2] == g] >= t).mean() for g in set(processed[2]))
            test_score = (1 - w) * test[0] + w * test[1]
            print(f"w={w:g} held on {name}: validation {_rates(score, valid[2], valid[3], t)}; worst processed "
                  f"source flagged {worst_processed:.3f}\n    test {_rates(test_score, test[2], test[3], t)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("processed", help="score a model's validation reals after each processing step")
    p.add_argument("model")
    p.add_argument("out", type=Path)
    p.add_argument("--splits", default=SPLITS)
    m = sub.add_parser("mix", help="the screen itself, from evaluate CSVs and `processed` CSVs of both models")
    m.add_argument("--valid", nargs=2, required=True, metavar=("FIRST", "SECOND"))
    m.add_argument("--processed", nargs=2, required=True, metavar=("FIRST", "SECOND"))
    m.add_argument("--test", nargs=2, required=True, metavar=("FIRST", "SECOND"))
    m.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.2, 0.3, 0.4, 0.5, 0.6])
    m.add_argument("--splits", default=SPLITS)
    args = ap.parse_args()
    if args.command == "processed":
        score_processed(args.model, args.out, args.splits)
    else:
        mix(args)


if __name__ == "__main__":
    main()
