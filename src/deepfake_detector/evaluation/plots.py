"""Plots for reports: confusion matrix, ROC curve, training curves. All written atomically as PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

from deepfake_detector.evaluation.ranking import roc_auc, roc_points
from deepfake_detector.utils.figures import new_figure, save_png

_REAL_COLOR, _FAKE_COLOR = "#2b7bba", "#d7301f"


def plot_confusion_matrix(tp: int, tn: int, fp: int, fn: int, path: str | Path, title: str = "") -> Path:
    matrix = np.array([[tn, fp], [fn, tp]])
    fig, ax = new_figure(figsize=(4.2, 3.8))
    ax.imshow(matrix, cmap="Blues")
    names = [["TN", "FP"], ["FN", "TP"]]
    for i in range(2):
        for j in range(2):
            share = matrix[i, j] / max(1, matrix[i].sum())
            color = "white" if matrix[i, j] > matrix.max() / 2 else "black"
            ax.text(j, i, f"{names[i][j]}\n{matrix[i, j]}\n({share:.1%} of row)", ha="center", va="center",
                    color=color, fontsize=10)
    ax.set_xticks([0, 1], ["real", "fake"])
    ax.set_yticks([0, 1], ["real", "fake"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "Confusion matrix (fake = positive)")
    return save_png(fig, path)


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path) -> Path:
    """One ROC curve per named (labels, scores) pair, with its AUC in the legend."""
    fig, ax = new_figure(figsize=(4.6, 4.2))
    for name, (labels, scores) in curves.items():
        y, p = np.asarray(labels), np.asarray(scores, dtype=float)
        roc = roc_points(y, p, np.ones((1, len(y))))  # the same ROC as every reported metric
        fpr, tpr = roc.fpr[0], roc.tpr[0]
        ax.plot(fpr, tpr, lw=2, label=f"{name} (AUC {float(roc_auc(roc)[0]):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    ax.set_xlabel("false positive rate (real called fake)")
    ax.set_ylabel("true positive rate (fakes caught)")
    ax.set_title("ROC curve")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def plot_score_histogram(labels: np.ndarray, scores: np.ndarray, threshold: float, path: str | Path) -> Path:
    fig, ax = new_figure(figsize=(5, 3.4))
    bins = np.linspace(0, 1, 26)
    ax.hist(scores[labels == 0], bins=bins, alpha=0.6, color=_REAL_COLOR, label="real")
    ax.hist(scores[labels == 1], bins=bins, alpha=0.6, color=_FAKE_COLOR, label="fake")
    ax.axvline(threshold, color="black", ls="--", lw=1, label=f"threshold {threshold:.2f}")
    ax.set_xlabel("P(fake)")
    ax.set_ylabel("images")
    ax.set_title("Score distribution")
    ax.legend(fontsize=8)
    return save_png(fig, path)


def plot_training_curves(history: list[dict], path: str | Path) -> Path:
    """Loss and accuracy per epoch, train vs validation (the seed papers' curves)."""
    epochs = [row["epoch"] for row in history]
    fig, axes = new_figure(1, 2, figsize=(9, 3.5))
    for ax, metric in zip(axes, ("loss", "acc"), strict=True):
        for split, color in (("train", _REAL_COLOR), ("val", _FAKE_COLOR)):
            values = [row.get(f"{split}_{metric}") for row in history]
            ax.plot(epochs, values, marker="o", color=color, label=f"{split}")
        ax.set_xlabel("epoch")
        ax.set_title("loss (binary cross-entropy)" if metric == "loss" else "accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
    return save_png(fig, path)


def plot_reliability(bins: list[dict], path: str | Path, ece: float | None = None) -> Path:
    """Reliability diagram: observed fraction of fakes against mean P(fake) per bin, with bin counts."""
    used = [b for b in bins if b["count"]]
    fig, (ax, hist) = new_figure(2, 1, figsize=(4.6, 5.2), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    ax.plot([b["mean_p_fake"] for b in used], [b["fraction_fake"] for b in used], marker="o",
            color=_FAKE_COLOR, label="model" + (f" (ECE {ece:.3f})" if ece is not None else ""))
    ax.set_ylabel("observed fraction fake")
    ax.set_title("Reliability diagram")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    width = bins[0]["bin_high"] - bins[0]["bin_low"]
    hist.bar([b["bin_low"] for b in bins], [b["count"] for b in bins], width=width, align="edge",
             color=_REAL_COLOR, alpha=0.7)
    hist.set_xlabel("mean P(fake) in bin")
    hist.set_ylabel("images")
    hist.set_xlim(0, 1)
    return save_png(fig, path)


def plot_robustness(rows: list[dict], metrics: tuple[str, ...], path: str | Path) -> Path:
    """One panel per perturbation kind: each metric against strength, the clean value dashed."""
    clean = next((r for r in rows if r["kind"] == "none"), None)
    kinds = list(dict.fromkeys(r["kind"] for r in rows if r["kind"] != "none"))
    fig, axes = new_figure(nrows=1, ncols=max(1, len(kinds)), figsize=(3.6 * max(1, len(kinds)), 3.4), squeeze=False)
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, kind in zip(axes[0], kinds, strict=False):
        part = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["strength"])
        for metric, color in zip(metrics, colors, strict=False):
            ax.plot([r["strength"] for r in part], [r[metric] for r in part], marker="o", color=color,
                    label=metric)
            if clean is not None and clean[metric] is not None:
                ax.axhline(clean[metric], color=color, ls="--", lw=1)
        ax.set_xlabel({"jpeg": "JPEG quality", "resize": "scale factor", "blur": "blur sigma (px)",
                       "noise": "noise std (fraction of 255)"}.get(kind, kind))
        if kind == "jpeg":
            ax.invert_xaxis()  # stronger to the right, as for the others
        ax.set_title(kind)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower left", title="dashed: clean", title_fontsize=7)
    return save_png(fig, path)
