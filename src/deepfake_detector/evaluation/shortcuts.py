"""Shortcut check: real photos put through a fake source's processing history must not look more fake.

Each fake source reaches us through its own processing (SDXL faces cut out of downscaled JPEG figures, SD 2.1
faces Lanczos-resized from 768 px, ...). A detector can learn that history instead of the generator; then an
ordinary photo that went through the same steps is called fake. The check scores the real photos of the
evaluated split as they are and after each history, at the model's stored threshold, and reports the
false-positive rate both ways with its bootstrap interval, and the paired change (the same photos in the same
resamples) with its interval. A history whose change interval lies wholly above zero is flagged.

The histories are named in ``data/histories.py``; training puts both classes through them
(``augment.histories``), and this check measures whether that worked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepfake_detector.data.histories import History
from deepfake_detector.data.samples import REAL
from deepfake_detector.errors import DatasetError
from deepfake_detector.evaluation.bootstrap import CONFIDENCE, N_RESAMPLES, resample_weights
from deepfake_detector.evaluation.scoring import Scored, score_samples
from deepfake_detector.inference.detector import Detector
from deepfake_detector.utils.atomic import write_csv
from deepfake_detector.utils.html_page import Html, fmt, table

CSV_FILE = "shortcuts.csv"


@dataclass(frozen=True)
class PairedScores:
    """Scores of the same real photos before and after a history, with their sources."""

    sources: np.ndarray
    original: np.ndarray
    perturbed: np.ndarray


def _interval(values: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def compare_rows(paired: PairedScores, threshold: float, history: str, seed: int = 0) -> list[dict]:
    """One row for all the reals, and one per source when there are several: FPR before and after, the paired
    change and the mean change of P(fake), each with its 95% bootstrap interval, and the flag."""
    names = sorted(set(paired.sources.tolist()))
    groups = [("all", np.ones(len(paired.sources), dtype=bool))]
    groups += [(name, paired.sources == name) for name in names] if len(names) > 1 else []
    rows = []
    for name, mask in groups:
        before, after = paired.original[mask], paired.perturbed[mask]
        w = resample_weights(np.zeros(len(before), dtype=int), N_RESAMPLES, seed)
        n = len(before)
        flagged = {"fpr_original": before >= threshold, "fpr_perturbed": after >= threshold}
        row: dict = {"history": history, "reals": name, "n": n, "threshold": threshold}
        values = {key: (float(f.mean()), w @ f / n) for key, f in flagged.items()}
        values["fpr_change"] = (values["fpr_perturbed"][0] - values["fpr_original"][0],
                                values["fpr_perturbed"][1] - values["fpr_original"][1])
        shift = after - before
        values["mean_p_fake_change"] = (float(shift.mean()), w @ shift / n)
        for key, (point, resampled) in values.items():
            row[key] = point
            row[f"{key}_ci_low"], row[f"{key}_ci_high"] = _interval(resampled)
        row["raises_fpr"] = row["fpr_change_ci_low"] > 0
        rows.append(row)
    return rows


def run_shortcut_check(detector: Detector, scored: Scored, histories: list[History], out_dir: str | Path, *,
                       faces: str = "auto", batch_size: int = 64, progress: bool = True, seed: int = 0) -> dict:
    """Score the real photos of ``scored`` again after each history; write ``shortcuts.csv``; the result for
    metrics.json (``rows``: one per history and reals group, ``flagged``: histories that raise the FPR)."""
    is_real = np.asarray(scored.labels) == REAL
    reals = [s for s, r in zip(scored.samples, is_real, strict=True) if r]
    if not reals:
        raise DatasetError("the shortcut check needs real photos, and the evaluated split has none")
    original = dict(zip((s.path for s in reals), np.asarray(scored.p_fake)[is_real], strict=True))
    rows = []
    for history in histories:
        after = score_samples(detector, reals, faces=faces, batch_size=batch_size, progress=progress,
                              perturb=history)
        paired = PairedScores(np.array([s.source or "reals" for s in after.samples]),
                         np.array([original[s.path] for s in after.samples]), np.asarray(after.p_fake))
        rows += [{**r, "steps": history.spec} for r in compare_rows(paired, detector.threshold, history.name, seed)]
    write_csv(Path(out_dir) / CSV_FILE, rows)
    return {"threshold": detector.threshold, "n_reals": len(reals), "rows": rows,
            "histories": {h.name: {"steps": h.spec, "describes": h.describes} for h in histories},
            "flagged": [r["history"] for r in rows if r["reals"] == "all" and r["raises_fpr"]],
            "bootstrap": {"resamples": N_RESAMPLES, "seed": seed, "confidence": CONFIDENCE, "paired": True}}


def _with_ci(row: dict, key: str) -> Html:
    return Html(fmt(row[key]) + f' <span class="ci">[{row[f"{key}_ci_low"]:.3f}, {row[f"{key}_ci_high"]:.3f}]</span>')


def shortcuts_section(result: dict) -> str:
    """HTML for the report: the histories, then one table row per history and reals group."""
    histories = table(["history", "steps", "imitates"],
                      [[name, h["steps"], h["describes"]] for name, h in result["histories"].items()])
    rows = [[r["history"], r["reals"], r["n"], _with_ci(r, "fpr_original"), _with_ci(r, "fpr_perturbed"),
             _with_ci(r, "fpr_change"), _with_ci(r, "mean_p_fake_change"),
             Html('<b class="warn">raises FPR</b>') if r["raises_fpr"] else "no"] for r in result["rows"]]
    return ("<h2>Shortcut check: real photos through each fake source's processing history</h2>"
            f"<p>False-positive rate of the {result['n_reals']} real photos at the stored threshold "
            f"{result['threshold']:.4f}, as they are and after each history; the change is paired (same photos, "
            "same bootstrap resamples). A history is flagged when the 95% interval of the change lies above 0: "
            "the model then treats that processing as evidence of a fake.</p>" + histories
            + table(["history", "reals", "n", "FPR original", "FPR after history", "FPR change",
                     "mean P(fake) change", "flag"], rows))
