"""Screen, on cached features, how linear heads trade clean recall against real photos flagged after processing.

    python scripts/screen_branch_block.py extract train /work/exp/side/train        # the caches it reads
    python scripts/screen_branch_block.py extract valid /work/exp/side/valid
    python scripts/screen_branch_block.py extract valid-processed /work/exp/side/valid-processed
    python scripts/screen_heads_processed.py /work/exp/side
    python scripts/screen_branch_block.py extract train-more-processing /work/exp/side/train-more-processing
    python scripts/screen_heads_processed.py /work/exp/side --more-processing /work/exp/side/train-more-processing

Heads on the class tokens of blocks 5-12 of the default's CLIP member (bf16 cache): its own generator head (trained
40 epochs), and heads solved as L2-regularised logistic regressions (sources x classes balanced) on standardised
or raw features at several C. A photo's logit is the mean of its whole-image and face-crop logits. For each head:
at the default's policy (`fpr:0.02@worst-source`, `choose_threshold`, as `calibrate` chooses it), the
validation fakes caught and the validation reals flagged after each processing step (all reals, and the worst
source); then the fakes caught at the threshold that holds every source after every step to 2% as well
(`calibrate --processed-reals`). ``--more-processing``: the solved heads fitted again with two more seeded
processing histories of every training photo. A screen, not a model: bf16 features, no temperature or band.
"""

from __future__ import annotations

import argparse
import collections
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from deepfake_detector.evaluation.thresholds import choose_threshold
from deepfake_detector.models.artifacts import load_model

MEMBER = "runs/clip-grafted"
STEPS = ("jpeg50", "resize0.5", "blur1")
POLICY = "fpr:0.02@worst-source"
Head = Callable[[np.ndarray], np.ndarray]


def _views(folder: Path, names: list[str], patch_stats: bool = False) -> list[dict]:
    """Each cached view; ``patch_stats``: its features also carry the mean and standard deviation over the 196
    patch tokens entering block 12 (``NAME.tokens.npy``), beside the class tokens of blocks 5-12."""
    views = [dict(np.load(folder / f"{name}.npz")) for name in names]
    if patch_stats:
        for name, view in zip(names, views, strict=True):
            tokens = np.load(folder / f"{name}.tokens.npy", mmap_mode="r")
            stats = [np.concatenate([part.mean(1), part.std(1)], axis=1) for part in
                     (tokens[i:i + 256, 1:].astype(np.float32) for i in range(0, len(tokens), 256))]
            view["cls"] = np.concatenate([view["cls"], np.concatenate(stats)], axis=1)
    return views


def _photo(head: Head, views: list[dict]) -> np.ndarray:
    return sum(head(v["cls"].astype(np.float64)) for v in views) / len(views)


def policy_threshold(labels: np.ndarray, logits: np.ndarray, sources: np.ndarray,
                     processed: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> float:
    """The default's policy on the validation photos; with ``processed`` (step: (reals' logits, sources)), each
    source after each step held to it too, as a source of its own (``calibrate --processed-reals``)."""
    for step, (step_logits, step_sources) in (processed or {}).items():
        labels = np.r_[labels, np.zeros(len(step_logits), int)]
        logits, sources = np.r_[logits, step_logits], np.r_[sources, [f"{s}+{step}" for s in step_sources]]
    return choose_threshold(labels, logits, POLICY, sources).threshold


def flagged(logits: np.ndarray, sources: np.ndarray, threshold: float) -> str:
    """Share of the reals above the threshold, and (in brackets) that of the most-flagged source."""
    worst = max((logits[sources == s] >= threshold).mean() for s in set(sources))
    return f"{(logits >= threshold).mean():.3f} ({worst:.3f})"


def _solved_heads(train: list[dict], label: str) -> dict[str, Head]:
    """Logistic heads on the training views, sources x classes balanced: standardised and raw, several C."""
    x = np.concatenate([v["cls"] for v in train]).astype(np.float64)
    y = np.concatenate([v["labels"] for v in train]).astype(int)
    source = np.concatenate([v["sources"] for v in train])
    counts = collections.Counter(zip(y, source, strict=True))
    weights = np.array([1.0 / counts[g] for g in zip(y, source, strict=True)])
    weights *= len(weights) / weights.sum()
    mean, scale = x.mean(0), x.std(0) + 1e-6
    heads: dict[str, Head] = {}
    for c in (0.0003, 0.001, 0.003):
        solved = LogisticRegression(C=c, max_iter=3000).fit((x - mean) / scale, y, sample_weight=weights)
        heads[f"solved, standardised, C = {c:g}{label}"] = lambda f, m=solved: m.decision_function((f - mean) / scale)
    for c in (0.01, 0.1, 1.0):
        solved = LogisticRegression(C=c, max_iter=3000).fit(x, y, sample_weight=weights)
        heads[f"solved, raw, C = {c:g}{label}"] = lambda f, m=solved: m.decision_function(f)
    return heads


def screen(folder: Path, more_processing: Path | None, patch_stats: bool = False) -> None:
    train_names = ["clean", "faces"] + sorted(p.stem for p in (folder / "train").glob("*.npz")
                                              if p.stem.startswith(("process-", "history-")))
    train = _views(folder / "train", train_names, patch_stats)
    valid = _views(folder / "valid", ["clean", "faces"], patch_stats)
    vy, vsource = valid[0]["labels"].astype(int), valid[0]["sources"]
    processed = {step: _views(folder / "valid-processed", [f"{step}-clean", f"{step}-faces"], patch_stats)
                 for step in STEPS}

    heads: dict[str, Head] = {}
    if not patch_stats:
        member, _ = load_model(MEMBER)
        linear = member.head.generated[1]
        w, b = linear.weight.detach().double().numpy()[0], float(linear.bias.detach())
        heads["trained 40 epochs (the default's)"] = lambda f: f @ w + b
    heads |= _solved_heads(train, ", + patch-token mean and std" if patch_stats else "")
    if more_processing is not None:
        more = _views(more_processing, sorted(p.stem for p in more_processing.glob("*.npz")), patch_stats)
        heads |= _solved_heads(train + more, f", + {len(more)} processing views")

    print("| head | fakes caught (140k) | reals flagged after " + " / ".join(STEPS) + " (worst source) | "
          "fakes caught, processed reals held to 2% too |")
    print("|---|---|---|---|")
    for name, head in heads.items():
        clean = _photo(head, valid)
        after = {step: _photo(head, views) for step, views in processed.items()}
        point = policy_threshold(vy, clean, vsource)
        held = policy_threshold(vy, clean, vsource, {s: (after[s], processed[s][0]["sources"]) for s in STEPS})
        k140 = (clean[(vsource == "140k") & (vy == 1)] >= point).mean()
        after_steps = " / ".join(flagged(after[s], processed[s][0]["sources"], point) for s in STEPS)
        print(f"| {name} | {(clean[vy == 1] >= point).mean():.3f} ({k140:.3f}) | {after_steps} | "
              f"{(clean[vy == 1] >= held).mean():.3f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the caches of scripts/screen_branch_block.py extract")
    parser.add_argument("--more-processing", type=Path, help="the train-more-processing cache: refit with it too")
    parser.add_argument("--patch-stats", action="store_true",
                        help="features: also the mean and std of the patch tokens entering block 12")
    args = parser.parse_args(argv)
    screen(args.folder, args.more_processing, args.patch_stats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
