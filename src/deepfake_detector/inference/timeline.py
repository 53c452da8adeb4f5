"""A video's P(fake) over time: one line per face track (whole frames if none), the decision threshold dashed,
the uncertain band (if the model has one) shaded amber."""

from __future__ import annotations

from deepfake_detector.inference.prediction import Prediction
from deepfake_detector.utils.figures import new_figure, png_bytes

_COLORS = ["#d7301f", "#2b7bba", "#4daf4a", "#984ea3", "#ff7f00", "#a65628"]


def timeline_png(prediction: Prediction) -> bytes:
    """The timeline plot of a video Prediction as PNG bytes."""
    video = prediction.video
    fig, ax = new_figure(figsize=(6.4, 2.4))
    if video["tracks"]:
        for i, track in enumerate(video["tracks"]):
            times = [f["time"] for f in track["frames"]]
            ax.plot(times, [f["p_fake"] for f in track["frames"]], marker="o", ms=3, lw=1.4,
                    color=_COLORS[i % len(_COLORS)], label=f"face {track['id']} (mean {track['p_fake']:.2f})")
        ax.legend(fontsize=7, loc="upper left", frameon=False, ncol=min(3, len(video["tracks"])))
    else:
        ax.plot([f["time"] for f in video["frames"]], [f["p_fake"] for f in video["frames"]], marker="o", ms=3,
                color="#555", label="whole frame")
    band = video.get("uncertain")  # details of videos scored before bands existed have none
    if band:
        ax.axhspan(band["low"], band["high"], color="#f0a000", alpha=0.18, lw=0)
    ax.axhline(video["threshold"], color="#888", ls="--", lw=1)
    ax.text(1.0, video["threshold"], " threshold", transform=ax.get_yaxis_transform(), va="center", fontsize=7,
            color="#666")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlim(0, max(video["duration_s"], 1e-3))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("P(fake)")
    ax.grid(alpha=0.3)
    return png_bytes(fig)
